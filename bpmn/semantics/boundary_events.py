"""Non-interrupting boundary events stay armed while their activity runs.

SpiffWorkflow 3.2.0 gives each boundary event one task under the activity's `BoundaryEventSplit`:
a non-interrupting one that fires becomes READY, starts its outgoing path and is never waiting
again, so the second signal, message, escalation or condition was lost. BPMN 2.0.2 (10.5.6) and
Camunda, Flowable and Zeebe keep it armed: every trigger starts another token down its path until
the activity completes or is cancelled.

`RearmingBoundaryMixin` re-arms a non-interrupting event the moment it fires: a fresh WAITING task of
the same spec is added beside it under the split, while the activity is unfinished. It is an
ordinary task of the tree, so it survives snapshots, waits in the event manager like the first one,
and SpiffWorkflow's `BoundaryEventJoin` cancels it with the other waiting events when the activity
completes; an interrupting sibling cancels it too (`bpmn.semantics.events`).

- Timers are not re-armed: a cycle timer already repeats inside its one task (SpiffWorkflow's
  `CycleTimerEventDefinition.update_task`, `bpmn.semantics.timers`), and a duration or date timer
  fires once by definition.
- A conditional event fires when its condition *becomes* true (BPMN 10.5.2): the re-armed task
  starts out "held" and fires only after its condition was seen false (the flag is internal data
  of the task, so it survives snapshots too).
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    EscalationEventDefinition,
    SignalEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.util.task import TaskState

HELD_KEY = "patchbay_condition_held"  # a re-armed conditional event whose condition has not been false yet

_REPEATING = (SignalEventDefinition, MessageEventDefinition, EscalationEventDefinition, ConditionalEventDefinition)


def rearms(definition: Any) -> bool:
    """Whether a non-interrupting boundary event with `definition` waits again after firing.

    A multiple event re-arms when each of its triggers would (none a timer); conditions inside a
    multiple event are left out, as their held state could not be told from its other triggers.
    """
    if isinstance(definition, MultipleEventDefinition):
        members = definition.event_definitions
        return bool(members) and all(rearms(d) and not isinstance(d, ConditionalEventDefinition) for d in members)
    return isinstance(definition, _REPEATING)


def attached_activity(boundary: Any) -> Any:
    """The activity a boundary event task is attached to: its split's child that is no boundary event."""
    split = boundary.parent
    if split is None:
        return None
    return next((c for c in split.children if not isinstance(c.task_spec, BoundaryEvent)), None)


def is_armed_boundary(task: Any) -> bool:
    """Whether `task` is a boundary event waiting for its trigger.

    Its data is a copy of its split's (the activity's input), which SpiffWorkflow takes again in
    every engine round (`update_waiting_tasks`): it carries no token's variables, and readers of a
    scope's current variables skip it. A re-armed event is created late, so in task order its stale
    copy would otherwise hide what the paths wrote meanwhile.
    """
    return task.state == TaskState.WAITING and isinstance(task.task_spec, BoundaryEvent)


def rearm(fired: Any) -> Any:
    """Leave a fresh waiting task of `fired`'s spec beside it while its activity runs; the new task or None."""
    activity = attached_activity(fired)
    if activity is None or activity.has_state(TaskState.FINISHED_MASK):
        return None  # the activity is over: nothing is attached to wait for any more
    if any(t.task_spec is fired.task_spec and t.state == TaskState.WAITING for t in fired.parent.children):
        return None  # already armed (SpiffWorkflow may ready a task twice): one waiting task per event
    # Built as SpiffWorkflow builds the first one: predicted (MAYBE) with its path predicted below
    # it, then armed. Without the predicted path, completing it would start nothing.
    fresh = fired.parent._add_child(fired.task_spec, TaskState.MAYBE)
    fresh.task_spec._predict(fresh)
    fresh._set_state(TaskState.WAITING)
    if isinstance(fired.task_spec.event_definition, ConditionalEventDefinition):
        # The condition that fired still holds: the successor waits for it to become false first.
        fresh._set_internal_data(**{HELD_KEY: True})
    fresh.task_spec._update(fresh)
    return fresh


def still_held(task: Any) -> bool:
    """Whether a re-armed conditional event must keep waiting because its condition never turned false.

    Clears the hold once the condition is false, so the next time it holds the event fires.
    """
    if not task._get_internal_data(HELD_KEY, False):
        return False
    task._inherit_data()
    if task.task_spec.event_definition.has_fired(task):
        return True
    task.internal_data.pop(HELD_KEY, None)
    return False


class RearmingBoundaryMixin:
    """Boundary event spec behaviour: a non-interrupting event is waiting again as soon as it fires."""

    cancel_activity: bool
    event_definition: Any

    def _update_hook(self, my_task: Any) -> Any:
        if still_held(my_task):
            if my_task.state != TaskState.WAITING:
                my_task._set_state(TaskState.WAITING)
            my_task.workflow.top_workflow.event_manager.add_task(my_task)
            return None
        return super()._update_hook(my_task)  # type: ignore[misc]

    def _on_ready_hook(self, my_task: Any) -> None:
        super()._on_ready_hook(my_task)  # type: ignore[misc]
        if not self.cancel_activity and rearms(self.event_definition):
            rearm(my_task)
