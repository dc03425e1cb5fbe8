"""Errors and escalations go to the innermost enclosing handler (BPMN 2.0.2 10.3.5, 10.5.6).

SpiffWorkflow 3.2.0 searches for a catcher by workflow, not by scope: an error end event (thrown
without a target by the spiff event definitions) went to every waiting boundary event of the
instance, and a targeted one to any boundary event of the thrower's workflow and then its parents.
Either way a boundary event of the enclosing sub-process caught the error before the sub-process's
own event sub-process, which SpiffWorkflow only looked at when nothing else caught.

Here the thrower is known (`thrown_by`), and candidates are tried scope by scope, from the thrower
outwards, until one catches:
1. the boundary events attached to the activity the event leaves (at first the thrower itself, e.g.
   a script raising an error; then the sub-process or call activity holding the scope left);
2. an event sub-process of the scope, whose start event matches (it is started and given the event);
3. the holder of the scope, in its parent scope, and so on up to the process itself.
An event sub-process does not catch what it threw itself again: that would restart it forever; the
event goes on to the scopes outside. Nothing caught: the event is uncaught (`bpmn_events`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import CodeEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent

from bpmn.semantics import event_subprocesses


def propagates(event: BpmnEvent) -> bool:
    """Whether `event` travels outwards from its thrower to the innermost handler (errors, escalations)."""
    return isinstance(event.event_definition, CodeEventDefinition)


@contextmanager
def thrown_by(task: Any) -> Iterator[None]:
    """While the body runs, events the top workflow catches were thrown by `task`."""
    top = task.workflow.top_workflow
    previous = top.throwing
    top.throwing = task
    try:
        yield
    finally:
        top.throwing = previous


class ScopedThrowMixin:
    """A throw or end event whose error or escalation starts its search for a handler at itself."""

    def _run_hook(self, my_task: Any) -> Any:
        with thrown_by(my_task):
            return super()._run_hook(my_task)  # type: ignore[misc]


def deliver(workflow: Any, event: BpmnEvent, thrower: Any) -> bool:
    """Give `event`, thrown by task `thrower`, to the innermost handler; True if one caught it."""
    leaving, came_from = thrower, None
    while leaving is not None:
        scope = leaving.workflow
        if _catch_on_boundary(workflow, leaving, event):
            return True
        skip = came_from.spec.name if came_from is not None else None
        if event_subprocesses.start_in_scope(workflow, scope, event, skip=skip):
            return True
        leaving, came_from = _holder(workflow, scope), scope
    return False


def _catch_on_boundary(workflow: Any, activity: Any, event: BpmnEvent) -> bool:
    """Deliver to the waiting boundary events attached to `activity` or to the multi-instance activity
    it is an instance of; a boundary event naming the event's code wins over a catch-all one."""
    enclosing = set(_self_and_ancestor_ids(activity))
    catchers = [t for t in workflow.event_manager.tasks.values()
                if t.workflow is activity.workflow and isinstance(t.task_spec, BoundaryEvent)
                and _attached_to_one_of(t, enclosing) and t.task_spec.catches(t, event)]
    for task in event_subprocesses.most_specific(catchers, lambda t: t.task_spec.event_definition):
        task.task_spec.catch(task, event)
        task.task_spec._update(task)
    return bool(catchers)


def _self_and_ancestor_ids(task: Any) -> Iterator[Any]:
    node = task
    while node is not None:
        yield node.id
        node = node.parent


def _attached_to_one_of(boundary: Any, task_ids: set[Any]) -> bool:
    # SpiffWorkflow puts an activity and its boundary events under one split task: the activity is
    # the split's child that is not a boundary event. A path leaving a non-interrupting boundary
    # event runs below the split too, but not below the activity, so it is never "inside" it.
    split = boundary.parent
    if split is None:
        return False
    return any(child.id in task_ids for child in split.children if not isinstance(child.task_spec, BoundaryEvent))


def _holder(workflow: Any, scope: Any) -> Any:
    """The task (sub-process, call activity or event sub-process) that runs `scope`; None at the top."""
    parent_id = getattr(scope, "parent_task_id", None)
    return None if parent_id is None else workflow.get_task_from_id(parent_id)
