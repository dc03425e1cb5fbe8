"""Running a SpiffWorkflow workflow safely, and turning what happened into a `StepResult`.

Fixes of SpiffWorkflow 3.2.0 that live here:
- `Task.run()` runs a task whatever its state; `run_task` refuses anything not READY.
- An error end event that nothing catches completes the process silently; `outcome` turns it into a
  failed instance with an `uncaught_error` incident.
- An instance that is not complete but has nothing ready, waiting or started has stalled; it fails
  with a `stalled` incident instead of hanging silently.
- A runaway loop is cut off after `max_rounds` engine rounds (`StepFailed`, kind `loop_limit`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ErrorEventDefinition,
    EscalationEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition
from SpiffWorkflow.spiff.specs.event_definitions import SignalEventDefinition as SpiffSignalEventDefinition
from SpiffWorkflow.util.task import TaskState

from bpmn import harvest, snapshot
from bpmn.errors import CommandRejected, StepFailed
from bpmn.migrations import SNAPSHOT_VERSION
from bpmn.semantics import event_subprocesses, events
from bpmn.types import AuditEvent, IncidentReport, InstanceStatus, StepResult, ThrownMessage, ThrownSignal

READY = TaskState.READY
DEFAULT_MAX_ROUNDS = 100_000


@dataclass
class StepLog:
    """What a command did, collected while it ran, for the step's audit trail and incidents."""

    before: harvest.Observation
    audit: list[AuditEvent] = field(default_factory=list)
    incidents: list[IncidentReport] = field(default_factory=list)

    def event(self, type_: str, *, task: Any = None, data: dict[str, Any] | None = None) -> None:
        """Record an audit event, located at `task`'s element when given."""
        element = harvest.activity_id(task) if task is not None else None
        self.audit.append(AuditEvent(type=type_, activity_id=element, data=harvest.json_safe(data or {})))


def find_task(workflow: Any, task_id: str) -> Any:
    """The task with this id, in the instance or any of its sub-processes."""
    try:
        task = workflow.get_task_from_id(UUID(task_id))
    except (ValueError, KeyError, TypeError):
        task = None
    if task is None:
        raise CommandRejected("task_not_found", f"no task {task_id} in this instance")
    return task


def run_task(task: Any) -> None:
    """Run one task, but only a READY one (SpiffWorkflow's `Task.run()` does not check)."""
    if task.state != READY:
        raise CommandRejected("task_not_ready", f"task {task.task_spec.name} is {TaskState.get_name(task.state)}")
    task.run()


def parked_service_task(workflow: Any, call_id: str) -> Any:
    """The parked (STARTED) service task of a service call."""
    task = find_task(workflow, call_id)
    if task.state != TaskState.STARTED:
        raise CommandRejected("service_call_not_open", f"service call {call_id} is not waiting for a result")
    return task


def deliver_message(workflow: Any, name: str, correlation: dict[str, Any], variables: dict[str, Any]) -> Any:
    """Deliver a message to the first waiting subscription that `name` + `correlation` matches; the
    task that caught it.

    Every correlation value the subscription expects must be present and equal in `correlation`.
    Waiting catch events and receive tasks come first, then the message start events of event
    sub-processes of running scopes (the process's first, then those of its sub-processes).
    """
    for task, definition in harvest.waiting_messages(workflow):
        if definition.name == name and _correlates(harvest._expected_correlation(workflow, task, definition),
                                                   correlation):
            catch_message(task, definition, variables, correlation)
            return task
    for waiting in harvest.waiting_message_starts(workflow):
        definition = waiting.start.event_definition
        if definition.name == name and _correlates(harvest.expected_in_scope(workflow, waiting), correlation):
            event = BpmnEvent(definition, payload={**correlation, **variables}, correlations={})
            task = event_subprocesses.start_handler(workflow, waiting, event)
            _take_message_variables(task, definition, variables)
            return task
    raise CommandRejected("no_matching_subscription",
                          f"this instance is not waiting for message {name!r} with {correlation!r}")


def _correlates(expected: dict[str, Any], correlation: dict[str, Any]) -> bool:
    return all(correlation.get(k) == v for k, v in expected.items())


def catch_message(task: Any, definition: Any, variables: dict[str, Any], correlation: dict[str, Any]) -> None:
    """Deliver a message payload to one waiting task (never to another instance's).

    SpiffWorkflow evaluates the correlation retrieval expressions against the payload, so the
    payload carries the correlation values as well as the message variables.
    """
    event = BpmnEvent(definition, payload={**correlation, **variables}, correlations={})
    task.task_spec.catch(task, event)
    task.task_spec._update(task)
    _take_message_variables(task, definition, variables)


def _take_message_variables(task: Any, definition: Any, variables: dict[str, Any]) -> None:
    if getattr(definition, "message_var", None) is None:
        # SpiffWorkflow drops the payload when no message variable is named; Camunda's behaviour,
        # which analysts expect, is that message variables become process variables. They are
        # applied after `_update`: it re-merges the parent's data into the task (parent values win),
        # so a value the waiting task inherited (e.g. on a loop back to the catch event) hid the
        # delivered one.
        task.data.update(variables)


def catch_signal(workflow: Any, name: str, variables: dict[str, Any]) -> list[Any]:
    """Deliver a signal from outside to every task of the instance waiting for it; the tasks that caught it.

    The variables become data of the catching tasks (Camunda's behaviour for signal variables). The
    event sub-process with a matching signal start event of the process and of every running
    sub-process starts (`PatchbayWorkflow.broadcast`).
    """
    event = BpmnEvent(SpiffSignalEventDefinition(name), payload=dict(variables))
    catching = [t for t in workflow.event_manager.tasks.values() if t.task_spec.catches(t, event)]
    if not workflow.broadcast(event):
        raise CommandRejected("no_matching_subscription", f"this instance is not waiting for signal {name!r}")
    # Event sub-processes it started get the variables as a catch event does, on top of their scope's data.
    catching.extend(event_subprocesses.fired_starts(workflow, event.event_definition))
    for task in catching:
        task.data.update(variables)
    return catching


def throw_error(task: Any, error_code: str, message: str) -> None:
    """Throw a BPMN error from a parked service task towards its boundary events and parents."""
    events.throw_error(task, error_code, message)


def fire_timers(workflow: Any, now: datetime) -> list[Any]:
    """Mark every timer due at `now` as fired and let SpiffWorkflow move them on.

    Cycle timers fire on `now` too (`bpmn.semantics.timers`): the workflow keeps `now` as its
    transient `timer_now` for the rest of the step, so cycles re-arm relative to it.
    """
    workflow.timer_now = now
    fired = []
    for task in list(workflow.event_manager.tasks.values()):
        due = harvest.timer_due(task)
        if due is None or due > now:
            continue
        if not any(isinstance(d, CycleTimerEventDefinition) for d in harvest.event_definitions(task)):
            task._set_internal_data(event_fired=True)
        fired.append(task)
    workflow.refresh_timers()
    return fired


def run_until_waiting(workflow: Any, *, max_rounds: int) -> None:
    """Run engine tasks until every token waits, at most `max_rounds` rounds."""
    for _ in range(max_rounds):
        if not workflow._do_engine_steps():
            rested = _quiet_states(workflow)
            workflow.refresh_timers()
            if rested is not None and task_states(workflow) == rested:
                return  # no timer or condition moved anything: another round would find nothing to run
            if not workflow._do_engine_steps():
                return
    raise StepFailed("loop_limit", f"the instance did not come to rest within {max_rounds} engine rounds")


def _quiet_states(workflow: Any) -> list[tuple[Any, int]] | None:
    """The task states of a workflow whose engine round just found nothing to run, when those alone
    show whether another round could: None when it has sub-processes (a round also updates their
    parent tasks) or errors waiting to be thrown."""
    if workflow.subprocesses or workflow.pending_errors:
        return None
    return task_states(workflow)


def task_states(workflow: Any) -> list[tuple[Any, int]]:
    """Every task's id and state, in task order: equal lists mean no task was added, removed or moved on."""
    return [(task.id, task.state) for task in harvest.all_tasks(workflow)]


def status_of(workflow: Any) -> InstanceStatus:
    """`completed`, or `waiting` (after a step nothing is left to run until something happens)."""
    return "completed" if workflow.completed else "waiting"


def outcome(workflow: Any, log: StepLog) -> StepResult:
    """Harvest the effects of a step that ran to rest, failing the instance on an uncaught error."""
    status: InstanceStatus = status_of(workflow)
    thrown, signals = _harvest_events(workflow, log)
    seen = harvest.census(workflow, log.before)
    if any(i.kind == "uncaught_error" for i in log.incidents):
        status = "failed"
    elif seen.stalled:
        status = "failed"
        log.incidents.append(IncidentReport("stalled", "the instance is not complete but nothing can run"))
    if status == "completed":
        log.event("instance.completed")
    elif status == "failed":
        # A failed instance holds no token: open work items, calls and timers are withdrawn.
        workflow.cancel()
        log.event("instance.failed", data={"reason": log.incidents[-1].message})
        seen = harvest.census(workflow, log.before)
    return result(workflow, log, status=status, thrown=thrown, signals=signals, seen=seen)


def _harvest_events(workflow: Any, log: StepLog) -> tuple[list[ThrownMessage], list[ThrownSignal]]:
    """Messages nothing in the instance caught (to route), every signal it threw (to broadcast), errors.

    Signals are broadcast (BPMN 10.5.1): one that a catch event of this instance caught still goes
    to every other instance and definition waiting for it; the caller must not deliver it back here.
    """
    thrown: list[ThrownMessage] = []
    signals = [ThrownSignal(e.event_definition.name, harvest.json_safe(e.payload)) for e in workflow.thrown_signals]
    workflow.thrown_signals = []
    for event in workflow.get_events():
        definition = event.event_definition
        if isinstance(definition, MessageEventDefinition):
            correlation = {k: v for props in event.correlations.values() for k, v in props.items()}
            thrown.append(ThrownMessage(definition.name, harvest.json_safe(correlation),
                                        harvest.json_safe(event.payload)))
        elif isinstance(definition, ErrorEventDefinition):
            code = definition.code or definition.name
            log.incidents.append(IncidentReport("uncaught_error", f"BPMN error {code!r} was not caught",
                                                activity_id=_error_source(workflow, log)))
        elif isinstance(definition, EscalationEventDefinition):
            log.event("escalation.uncaught", data={"code": definition.code or definition.name})
    return thrown, signals


def _error_source(workflow: Any, log: StepLog) -> str | None:
    errored = [t for t in harvest.all_tasks(workflow) if t.state == TaskState.ERROR and harvest.activity_id(t)]
    if errored:
        return harvest.activity_id(errored[-1])
    done = harvest.completed_since(workflow, log.before)
    return harvest.activity_id(done[-1]) if done else None


def result(workflow: Any, log: StepLog, *, status: InstanceStatus,
           thrown: list[ThrownMessage] | None = None, signals: list[ThrownSignal] | None = None,
           seen: harvest.Census | None = None) -> StepResult:
    """Assemble the `StepResult` of a step (`seen`: the workflow's census as it stands now, if taken)."""
    seen = seen or harvest.census(workflow, log.before)
    audit = [AuditEvent("activity.completed", harvest.activity_id(t)) for t in seen.completed] + log.audit
    waiting = status in ("waiting", "running")
    return StepResult(
        snapshot=snapshot.dump(workflow),
        snapshot_version=SNAPSHOT_VERSION,
        status=status,
        variables=harvest.json_safe(seen.variables),
        active_activities=seen.active if waiting else [],
        completed_activities=[a for a in (harvest.activity_id(t) for t in seen.completed) if a],
        work_items_opened=seen.work_items_opened if waiting else [],
        work_items_closed=seen.work_items_closed,
        service_calls=seen.service_calls if waiting else [],
        messages_thrown=thrown or [],
        subscriptions=harvest.message_subscriptions(workflow) if waiting else [],
        signal_subscriptions=harvest.signal_subscriptions(workflow) if waiting else [],
        next_timer_at=harvest.next_timer_at(workflow) if waiting else None,
        incidents=list(log.incidents),
        audit=audit,
        signals_thrown=signals or [],
        calls_withdrawn=seen.calls_withdrawn,
    )
