"""Start events of a compiled model, and triggering one of them when an instance starts.

A process whose start event is a timer or a message does not start by itself: the definition's
scheduler (timer start events, e.g. a monthly report), the message router (message start events) or
the signal broadcaster (signal start events) creates the instance and tells the engine which start
event fired.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.control import StartEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
)
from SpiffWorkflow.util.task import TaskState

from bpmn import harvest, runner
from bpmn.errors import CommandRejected
from bpmn.types import StartEventInfo, StartTrigger

_LONG_AGO = "2000-01-01T00:00:00+00:00"
_TIMER_KINDS = (
    (CycleTimerEventDefinition, "cycle"),
    (DurationTimerEventDefinition, "duration"),
    (TimeDateEventDefinition, "date"),
)


def _unquote(text: str) -> str:
    stripped = text.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in "'\"":
        return stripped[1:-1]
    return stripped


def describe(spec: Any) -> list[StartEventInfo]:
    """The start events of the executable process (not those of event sub-processes)."""
    infos = []
    for task_spec in start_specs(spec):
        definition = getattr(task_spec, "event_definition", None)
        infos.append(_info(task_spec.bpmn_id or task_spec.name, definition))
    return infos


def _info(activity_id: str, definition: Any) -> StartEventInfo:
    if definition is None or isinstance(definition, NoneEventDefinition):
        return StartEventInfo(activity_id, "none")
    if isinstance(definition, MessageEventDefinition):
        return StartEventInfo(activity_id, "message", message_name=definition.name)
    if isinstance(definition, SignalEventDefinition):
        return StartEventInfo(activity_id, "signal", signal_name=definition.name)
    for cls, kind in _TIMER_KINDS:
        if isinstance(definition, cls):
            return StartEventInfo(activity_id, "timer", timer_kind=kind,  # type: ignore[arg-type]
                                  timer_text=_unquote(definition.expression))
    return StartEventInfo(activity_id, "other")


def start_specs(spec: Any) -> list[Any]:
    """The start event specs of a process; with several, SpiffWorkflow puts a StartEventSplit first."""
    outputs = list(spec.start.outputs)
    if len(outputs) == 1 and isinstance(outputs[0], StartEventSplit):
        return list(outputs[0].outputs)
    return outputs


def start_tasks(workflow: Any) -> list[Any]:
    """The tasks of the executable process's start events (event sub-process starts excluded)."""
    specs = start_specs(workflow.spec)
    return [t for t in workflow.tasks.values() if t.task_spec in specs]


def _is_timer(task: Any) -> bool:
    definition = getattr(task.task_spec, "event_definition", None)
    return any(isinstance(definition, cls) for cls, _ in _TIMER_KINDS)


def prime(workflow: Any, trigger: StartTrigger | None) -> Any | None:
    """Before the first run: mark the timer start event that fires now, if any; returns its task.

    Timer start events are scheduled per definition, never inside an instance. An instance started
    by hand of a process that only has timer start events starts at the first of them, as Camunda
    does.
    """
    starts = start_tasks(workflow)
    timers = [t for t in starts if _is_timer(t)]
    chosen = None
    if trigger is not None and trigger.kind == "timer":
        chosen = next((t for t in timers if trigger.activity_id in (None, harvest.activity_id(t))), None)
        if chosen is None:
            raise CommandRejected("no_such_start_event",
                                  f"the process has no timer start event {trigger.activity_id!r}")
    elif trigger is None and timers and len(timers) == len(starts):
        chosen = timers[0]
    if chosen is not None:
        _arm(chosen)
    return chosen


def _arm(task: Any) -> None:
    if isinstance(task.task_spec.event_definition, CycleTimerEventDefinition):
        # A cycle start event creates its outgoing token when a cycle comes round (it predicts none);
        # one past-due round makes it do that exactly once, then it completes.
        task._set_internal_data(event_value={"cycles": 1, "next": _LONG_AGO, "duration": 0})
    else:
        task._set_internal_data(event_fired=True)


def settle(workflow: Any, trigger: StartTrigger | None, variables: dict[str, Any]) -> Any | None:
    """After the first run: deliver a start message or signal, and withdraw timer start events left waiting."""
    fired = None
    if trigger is not None and trigger.kind == "signal":
        fired = next((t for t in start_tasks(workflow) if t.state == TaskState.WAITING
                      and _is_signal_start(t, trigger)), None)
        if fired is None:
            raise CommandRejected("no_such_start_event",
                                  f"the process has no signal start event for {trigger.signal_name!r}")
        fired.task_spec.catch(fired, BpmnEvent(fired.task_spec.event_definition, payload=dict(variables)))
        fired.task_spec._update(fired)
        fired.data.update(variables)  # after `_update`, which re-merges the parent's data
    elif trigger is not None and trigger.kind == "message":
        fired = next((t for t in start_tasks(workflow) if t.state == TaskState.WAITING
                      and _is_message_start(t, trigger)), None)
        if fired is None:
            raise CommandRejected("no_such_start_event",
                                  f"the process has no message start event for {trigger.message_name!r}")
        runner.catch_message(fired, fired.task_spec.event_definition, variables, {})
    for task in start_tasks(workflow):
        if task.state == TaskState.WAITING and _is_timer(task):
            task.cancel()
    return fired


def _is_message_start(task: Any, trigger: StartTrigger) -> bool:
    definition = task.task_spec.event_definition
    return isinstance(definition, MessageEventDefinition) and definition.name == trigger.message_name


def _is_signal_start(task: Any, trigger: StartTrigger) -> bool:
    definition = task.task_spec.event_definition
    return isinstance(definition, SignalEventDefinition) and definition.name == trigger.signal_name
