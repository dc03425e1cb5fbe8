"""Event behaviour SpiffWorkflow 3.2.0 lacks: parser and task spec subclasses registered in `PatchbayParser`.

- Signal end events: SpiffWorkflow's end event parser ignores `signalEventDefinition`, so the
  signal was never thrown.
- Error and escalation start events of event sub-processes: its start event parser ignores them,
  so the event sub-process started with the process instead of waiting for the error.
- Interrupting events stop what they interrupt at once: SpiffWorkflow cancelled the activity of an
  interrupting boundary event only at its next join check, after the sub-process had run on (an
  error end event in one branch let the other branches finish); and an interrupting event
  sub-process never cancelled the rest of its parent (a timer one not even at the top level). Both
  now cancel when the event is caught (a conditional one: when its condition fires it, see
  `bpmn.semantics.conditions`; a timer one: when it is due).
- Non-interrupting boundary events fire on every trigger while their activity runs, not only once
  (`bpmn.semantics.boundary_events`).
- Scripts throw BPMN errors: `raise_bpmn_error(code)` parks the script task and the workflow
  throws the error after the engine round, exactly as `Engine.fail_service_task` does.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.parser.event_parsers import (
    CANCEL_EVENT_XPATH,
    CONDITIONAL_EVENT_XPATH,
    ERROR_EVENT_XPATH,
    ESCALATION_EVENT_XPATH,
    MESSAGE_EVENT_XPATH,
    SIGNAL_EVENT_XPATH,
    TERMINATION_EVENT_XPATH,
    TIMER_EVENT_XPATH,
)
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent, StartEvent
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent as BoundaryEventMixin
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import EventSubprocess
from SpiffWorkflow.spiff.parser.event_parsers import SpiffEndEventParser, SpiffStartEventParser
from SpiffWorkflow.spiff.specs.defaults import ScriptTask
from SpiffWorkflow.spiff.specs.event_definitions import ErrorEventDefinition as SpiffErrorEventDefinition
from SpiffWorkflow.util.task import TaskState

from bpmn.expressions.functions import ThrownBpmnError
from bpmn.semantics.boundary_events import RearmingBoundaryMixin
from bpmn.semantics.compensation import read_compensation
from bpmn.semantics.conditions import is_conditional
from bpmn.semantics.event_subprocesses import is_event_subprocess, take_current_data
from bpmn.semantics.propagation import thrown_by

PENDING_ERROR_KEY = "patchbay_pending_error"
_START_XPATHS = [MESSAGE_EVENT_XPATH, SIGNAL_EVENT_XPATH, TIMER_EVENT_XPATH, CONDITIONAL_EVENT_XPATH,
                 ERROR_EVENT_XPATH, ESCALATION_EVENT_XPATH]
# SpiffWorkflow's end event list, plus signals.
_END_XPATHS = [MESSAGE_EVENT_XPATH, CANCEL_EVENT_XPATH, ERROR_EVENT_XPATH, ESCALATION_EVENT_XPATH,
               TERMINATION_EVENT_XPATH, SIGNAL_EVENT_XPATH]


class PatchbayStartEventParser(SpiffStartEventParser):
    """Also reads error and escalation start events (of event sub-processes) and `isInterrupting`."""

    def create_task(self) -> Any:
        task = self._create_task(self.get_event_definition(_START_XPATHS))
        task.interrupting = self.node.get("isInterrupting", "true").lower() == "true"
        self.spec.start.connect(task)
        return task


class PatchbayEndEventParser(SpiffEndEventParser):
    """Also reads signal and compensation end events."""

    def create_task(self) -> Any:
        task = self._create_task(self.get_event_definition(_END_XPATHS))
        read_compensation(self, task)
        task.connect(self.spec.end)
        return task


class InterruptingStartEvent(StartEvent):
    """A start event that, in an interrupting event sub-process, cancels the rest of the parent scope.

    When it fires, its event sub-process takes its scope's current data (`take_current_data`).
    """

    interrupting = True

    def catch(self, my_task: Any, event: Any) -> None:
        take_current_data(my_task)  # before interrupting: the scope's tokens hold its data
        super().catch(my_task, event)
        self._interrupt(my_task)

    def _update_hook(self, my_task: Any) -> Any:
        # Timers and conditions fire here, never through `catch`.
        fired = super()._update_hook(my_task)
        if fired and _fires_by_itself(self.event_definition):
            take_current_data(my_task)
            self._interrupt(my_task)
        return fired

    def _interrupt(self, my_task: Any) -> None:
        parent_id = my_task.workflow.parent_task_id
        if not self.interrupting or parent_id is None:
            return
        holder = my_task.workflow.top_workflow.get_task_from_id(parent_id)
        if holder is not None and (_is_event_subprocess(holder) or is_event_subprocess(holder, my_task.workflow)):
            cancel_scope_except(holder)


def _fires_by_itself(definition: Any) -> bool:
    if isinstance(definition, MultipleEventDefinition):
        return any(_fires_by_itself(d) for d in definition.event_definitions)
    return isinstance(definition, (TimerEventDefinition, ConditionalEventDefinition))


def _is_event_subprocess(task: Any) -> bool:
    # SpiffWorkflow parses nested event sub-processes as plain sub-processes; what marks them is
    # that their scope starts them by trigger.
    triggers = getattr(task.workflow.spec.start, "trigger_specs", ())
    return isinstance(task.task_spec, EventSubprocess) or getattr(task.task_spec, "spec", None) in triggers


class InterruptingBoundaryEvent(RearmingBoundaryMixin, BoundaryEvent):
    """A boundary event that cancels its activity (and sibling events) the moment it catches.

    A non-interrupting one waits again as soon as it fires (`bpmn.semantics.boundary_events`).
    """

    def catch(self, my_task: Any, event: Any) -> None:
        super().catch(my_task, event)
        self._interrupt(my_task)

    def _update_hook(self, my_task: Any) -> Any:
        # A conditional boundary event fires by its condition, never through `catch`.
        fired = super()._update_hook(my_task)
        if fired and is_conditional(self.event_definition):
            self._interrupt(my_task)
        return fired

    def _interrupt(self, my_task: Any) -> None:
        if not self.cancel_activity or my_task.parent is None:
            return
        for sibling in my_task.parent.children:
            if sibling is my_task or sibling.has_state(TaskState.FINISHED_MASK):
                continue
            if isinstance(sibling.task_spec, BoundaryEventMixin) and sibling.state != TaskState.WAITING:
                continue  # a non-interrupting event that already fired runs on
            sibling.cancel()


def cancel_scope_except(keep: Any) -> None:
    """Cancel every unfinished task of `keep`'s workflow that is neither `keep`, above it nor below it."""
    spared = {keep.id}
    node = keep.parent
    while node is not None:
        spared.add(node.id)
        node = node.parent
    for task in list(keep.workflow.tasks.values()):
        if task.id in spared or task.has_state(TaskState.FINISHED_MASK) or _below(task, keep):
            continue
        task.cancel()
    # The scope's end join hung below the cancelled path; predict it below `keep`, so the scope
    # completes when the event sub-process does.
    keep._sync_children(keep.task_spec.outputs or [keep.workflow.spec.end], TaskState.FUTURE)
    for child in keep.children:
        child.task_spec._predict(child, mask=TaskState.FUTURE | TaskState.PREDICTED_MASK)


def _below(task: Any, ancestor: Any) -> bool:
    node = task.parent
    while node is not None:
        if node is ancestor:
            return True
        node = node.parent
    return False


class ErrorThrowingScriptTask(ScriptTask):
    """A script task whose script may call `raise_bpmn_error(code, message)`.

    The task is parked (STARTED) with the error recorded, and `PatchbayWorkflow` throws it once the
    engine round is over: throwing in the middle of SpiffWorkflow's `Task.run()` would let it mark
    an interrupted (cancelled) task completed afterwards.
    """

    def _execute(self, task: Any) -> Any:
        try:
            return super()._execute(task)
        except ThrownBpmnError as exc:
            task._set_internal_data(**{PENDING_ERROR_KEY: {"code": exc.code, "message": exc.message}})
            task.workflow.top_workflow.pending_errors.append(task)
            return None


def throw_error(task: Any, error_code: str, message: str) -> None:
    """Throw BPMN error `error_code` from a parked task towards its boundary events and parent scopes.

    When nothing interrupts the task, the error is uncaught: it stays in the workflow's
    `bpmn_events` (the runner turns it into an incident) and the task is marked ERROR.
    """
    definition = SpiffErrorEventDefinition(error_code, code=error_code)
    payload = {"error_code": error_code, "message": message}
    with thrown_by(task):
        task.workflow.top_workflow.catch(BpmnEvent(definition, payload=payload, target=task.workflow))
    if task.state == TaskState.STARTED:
        task._set_state(TaskState.ERROR)


def throw_pending_errors(workflow: Any) -> bool:
    """Throw the errors scripts raised during the last engine round; True if there were any."""
    pending = workflow.pending_errors
    if not pending:
        return False
    while pending:
        task = pending.pop(0)
        error = task.internal_data.pop(PENDING_ERROR_KEY, None)
        if error is not None and task.state == TaskState.STARTED:
            throw_error(task, error["code"], error["message"])
    return True
