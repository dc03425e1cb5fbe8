"""Conditional events, evaluated whenever the engine moves on.

SpiffWorkflow 3.2.0 evaluates a conditional catch or boundary event only when something updates its
task, and never evaluates the conditional start event of an event sub-process (nothing throws a
"conditional" event, so its scope never starts it). BPMN (10.5.2, conditional trigger): the event
fires when its condition becomes true while it is active, including at once when the condition
already holds as its scope starts. Patchbay evaluates conditions at the start of every engine
round and when the engine comes to rest (`PatchbayWorkflow._do_engine_steps` / `refresh_timers`):

- a waiting conditional catch or boundary event is updated, so it fires when its condition holds;
- the conditional start event of an event sub-process of every running scope (the process and its
  running sub-processes) starts its event sub-process when the condition holds. A non-interrupting
  one starts once per time the condition becomes true (it re-arms when the condition is false
  again); the flag lives in the scope's root task, so it survives snapshots. None starts in a scope
  whose interrupting event sub-process fired (`bpmn.semantics.event_subprocesses.accepts_events`).

Interruption itself (cancelling the activity or the rest of the scope at once) is done by the
boundary and start event classes of `bpmn.semantics.events` when a conditional event fires.
Conditions that cannot be evaluated yet (a variable not set) count as false.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.util.task import TaskState

from bpmn.errors import ExpressionError
from bpmn.semantics.event_subprocesses import is_interrupted

ARMED_KEY = "patchbay_fired_conditions"  # internal data of a scope's root task: ESP names whose condition held
_HAS_CONDITIONS = "_patchbay_has_conditions"  # cached on the top-level spec: whether any event is conditional


def is_conditional(definition: Any) -> bool:
    """Whether an event definition is (or, for a multiple event, includes) a condition."""
    if isinstance(definition, MultipleEventDefinition):
        return any(isinstance(d, ConditionalEventDefinition) for d in definition.event_definitions)
    return isinstance(definition, ConditionalEventDefinition)


def _has_conditions(workflow: Any) -> bool:
    cached = getattr(workflow.spec, _HAS_CONDITIONS, None)
    if cached is None:
        specs = [workflow.spec, *workflow.subprocess_specs.values()]
        cached = any(is_conditional(getattr(ts, "event_definition", None))
                     for spec in specs for ts in spec.task_specs.values())
        setattr(workflow.spec, _HAS_CONDITIONS, cached)
    return bool(cached)


def refresh_conditions(workflow: Any) -> None:
    """Fire every active conditional event whose condition holds now (a no-op for models without any)."""
    if not _has_conditions(workflow):
        return
    for task in list(workflow.event_manager.tasks.values()):
        if task.state == TaskState.WAITING and is_conditional(task.task_spec.event_definition):
            task.task_spec._update(task)
    for scope in [workflow, *workflow.get_active_subprocesses()]:
        if scope.task_tree is not None and not scope.completed:
            _start_event_subprocesses(workflow, scope)


def _start_event_subprocesses(workflow: Any, scope: Any) -> None:
    armed: dict[str, bool] = dict(scope.task_tree.internal_data.get(ARMED_KEY, {}))
    for name in getattr(scope.spec.start, "trigger_specs", ()):
        spec = workflow.subprocess_specs.get(name)
        for start in getattr(spec, "bpmn_start_events", ()):
            if not isinstance(start.event_definition, ConditionalEventDefinition):
                continue
            holds = _holds(workflow, scope, start.event_definition.expression)
            if holds and not armed.get(name) and not is_interrupted(workflow, scope):
                # Checked for every start: an interrupting one fires as it is started, so a later
                # condition holding in the same round must not start a handler beside it.
                # SpiffWorkflow hands a triggered event sub-process the data of the scope's root task
                # (as it was when the scope started); the sub-process and its start event must see
                # the data that made the condition hold.
                scope.task_tree.data.update(deepcopy(_context(scope).data))
                scope.spec.start.trigger_wf(scope.task_tree, name)
            armed[name] = holds
    if armed:
        scope.task_tree._set_internal_data(**{ARMED_KEY: armed})


def _context(scope: Any) -> Any:
    return scope.last_task or scope.task_tree


def _holds(workflow: Any, scope: Any, expression: str) -> bool:
    """The condition, evaluated in the data of the scope's latest task."""
    try:
        return bool(workflow.script_engine.evaluate(_context(scope), expression,
                                                    external_context=workflow.data_objects))
    except ExpressionError:
        return False
