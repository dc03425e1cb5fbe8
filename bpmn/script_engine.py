"""SpiffWorkflow's script engine, re-plumbed onto Patchbay's restricted expression language.

SpiffWorkflow evaluates every condition, script, timer, parameter and correlation expression with
Python's `eval`/`exec`. Here every one of those calls goes through `bpmn.expressions`, which walks an
allow-listed syntax tree with bounded steps: deploying a model never grants code execution.
It also fixes two SpiffWorkflow 3.2.0 defects: `call_service` masked every error as a NameError (it
referenced an undefined `script` variable), and errors lost the id of the element that raised them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from bpmn import expressions
from bpmn.errors import BpmnError, ExpressionError, StepFailed


def _element_id(task: Any) -> str | None:
    return getattr(task.task_spec, "bpmn_id", None) or getattr(task.task_spec, "name", None)


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """The environment SpiffWorkflow calls directly for some expressions (correlations, completion)."""

    def __init__(self, limits: expressions.Limits = expressions.DEFAULT_LIMITS) -> None:
        super().__init__({})
        self.limits = limits

    def evaluate(self, expression: str, context: Mapping[str, Any],
                 external_context: Mapping[str, Any] | None = None) -> Any:
        return expressions.evaluate(expression, context, limits=self.limits, extra=external_context)

    def execute(self, script: str, context: dict[str, Any],
                external_context: Mapping[str, Any] | None = None) -> bool:
        expressions.execute(script, context, limits=self.limits, extra=external_context)
        return True

    def call_service(self, context: Mapping[str, Any], **kwargs: Any) -> Any:
        raise StepFailed("service_call", "service tasks are parked, never called inside a step")


class RestrictedScriptEngine(PythonScriptEngine):
    """The script engine every Patchbay workflow runs with."""

    def __init__(self, limits: expressions.Limits = expressions.DEFAULT_LIMITS) -> None:
        super().__init__(environment=RestrictedEnvironment(limits))
        self.limits = limits

    def validate(self, expression: str) -> None:
        problems = expressions.check_expression(expression, limits=self.limits)
        if problems:
            message, line = problems[0]
            raise ExpressionError(message, line=line)

    def evaluate(self, task: Any, expression: str, external_context: Mapping[str, Any] | None = None) -> Any:
        return self.evaluate_for(task, expression, external_context=external_context)

    def evaluate_for(self, task: Any, expression: str, *, what: str = "expression",
                     external_context: Mapping[str, Any] | None = None) -> Any:
        """Evaluate against the task's data; errors name the element (and `what` of it failed)."""
        extra = dict(task.workflow.data_objects) if task.workflow.data_objects else {}
        if external_context:
            extra.update(external_context)
        try:
            return expressions.evaluate(expression, task.data, limits=self.limits,
                                        element_id=_element_id(task), extra=extra or None)
        except ExpressionError as exc:
            raise ExpressionError(f"{what} {expression!r}: {exc.detail}", element_id=_element_id(task),
                                  line=exc.line) from None

    def execute(self, task: Any, script: str, external_context: Mapping[str, Any] | None = None) -> bool:
        extra = dict(task.workflow.data_objects) if task.workflow.data_objects else {}
        if external_context:
            extra.update(external_context)
        expressions.execute(script, task.data, limits=self.limits, element_id=_element_id(task),
                            extra=extra or None)
        return True

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        # SpiffWorkflow's version referenced an undefined name and so turned every failure into a
        # NameError; ours never calls out at all (service tasks are parked, see bpmn.specs).
        raise StepFailed("service_call", "service tasks are parked, never called inside a step",
                         activity_id=_element_id(task))


__all__ = ["BpmnError", "RestrictedEnvironment", "RestrictedScriptEngine"]
