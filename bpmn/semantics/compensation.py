"""Compensation: handlers, compensation throw events, and compensation before a transaction's cancel.

SpiffWorkflow 3.2.0 parses no `compensateEventDefinition`: a compensation throw event was a none
event, a compensation boundary event a boundary event that never fired, and a handler
(`isForCompensation="true"`, reached by an association only) was never parsed at all. Patchbay:
- `detach_boundaries` (a tree rewrite) drops each compensation boundary event and its association and
  records the handler on the activity (`pb:compensationHandler`); `CompensationProcessParser` parses
  every handler of a scope as a detached task spec and keeps the map activity -> handler on the spec;
- a compensation intermediate or end throw event compensates, in its own scope, the activity named by
  `activityRef` or else every activity with a handler, each completed instance once, most recently
  completed first. With `waitForCompletion` (the default) the handlers run one after the other and
  the event completes after the last; without, they all start and the event goes on at once;
- a cancel end event of a transaction first compensates the transaction's completed activities,
  then throws the cancel (the transaction's cancel boundary event takes over), as BPMN requires.
Handlers run as triggered children of the throwing task, with its data; what they write is merged
back. Only activities that completed are compensated; a handler's progress lives in the task tree
and `internal_data`, so it survives a snapshot.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.defaults import EndEvent, IntermediateThrowEvent
from SpiffWorkflow.bpmn.specs.event_definitions.simple import CancelEventDefinition
from SpiffWorkflow.spiff.parser.event_parsers import SpiffIntermediateThrowEventParser
from SpiffWorkflow.spiff.parser.process import SpiffProcessParser
from SpiffWorkflow.util.task import TaskState

from bpmn.semantics.gateways import PB_NS

HANDLER_ATTRIBUTE = f"{{{PB_NS}}}compensationHandler"
_BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_PENDING = "patchbay_compensation"  # on the throwing task: ids of the activities still to compensate
_DONE = "patchbay_compensated"  # on a compensated activity's task


def detach_boundaries(tree: Any) -> None:
    """Replace compensation boundary events + associations by `pb:compensationHandler` on the activity."""
    ns = {"bpmn": _BPMN}
    for boundary in tree.xpath("//bpmn:boundaryEvent[bpmn:compensateEventDefinition]", namespaces=ns):
        container = boundary.getparent()
        links = container.xpath("./bpmn:association[@sourceRef=$id]", namespaces=ns, id=boundary.get("id"))
        activity = container.xpath("./*[@id=$id]", id=boundary.get("attachedToRef") or "")
        if activity and links:
            activity[0].set(HANDLER_ATTRIBUTE, links[0].get("targetRef"))
        for link in links:
            container.remove(link)
        container.remove(boundary)


class CompensationProcessParser(SpiffProcessParser):
    """Also parses the compensation handlers of the scope, and maps each activity to its handler."""

    def add_tasks(self) -> None:
        super().add_tasks()
        handlers: dict[str, str] = {}
        for node in self.node:
            handler = node.get(HANDLER_ATTRIBUTE) if isinstance(node.tag, str) else None
            if handler:
                handlers[node.get("id")] = handler
        for node in self.node.xpath("./*[@isForCompensation='true' and not(@triggeredByEvent='true')]"):
            if node.get("id") not in self.spec.task_specs:
                self.parse_node(node)
        self.spec.compensation_handlers = handlers


def read_compensation(parser: Any, task: Any) -> None:
    """Set `compensate` on a throw/end event spec from its `compensateEventDefinition` (None if none)."""
    found = parser.xpath("./bpmn:compensateEventDefinition")
    if not found:
        return
    definition = found[0]
    ref = definition.get("activityRef")
    task.compensate = {"activity": ref.rsplit(":", 1)[-1] if ref else None,
                       "wait": definition.get("waitForCompletion", "true").lower() != "false"}


class CompensationMixin:
    """A throw or end event that may compensate its scope before it completes (see the module docstring)."""

    compensate: dict[str, Any] | None = None

    def _update_hook(self, my_task: Any) -> Any:
        ready = super()._update_hook(my_task)  # type: ignore[misc]
        if not ready or not self.compensates(my_task) or _PENDING in my_task.internal_data:
            return ready
        targets = _compensable(my_task, (self.compensate or {}).get("activity"))
        if not targets:
            return ready
        if self.compensate is not None and not self.compensate["wait"]:
            for target in targets:
                _start_handler(my_task, target)
            return ready
        my_task.internal_data[_PENDING] = [str(t.id) for t in targets[1:]]
        _start_handler(my_task, targets[0])
        my_task._set_state(TaskState.STARTED)
        return None

    def compensates(self, my_task: Any) -> bool:
        """Whether this event compensates: a compensation event, or a cancel end event of a scope with handlers."""
        if self.compensate is not None:
            return True
        event_definition = getattr(self, "event_definition", None)
        return isinstance(event_definition, CancelEventDefinition) and bool(_handlers(my_task))

    def handler_done(self, workflow: Any, child: Any) -> None:
        """A handler finished: start the next one, or let the event complete."""
        my_task = child.parent
        if my_task is None or my_task.task_spec is not self or my_task.state != TaskState.STARTED:
            return
        my_task.data.update(child.data)
        pending = my_task.internal_data.get(_PENDING, [])
        while pending:
            target = my_task.workflow.get_task_from_id(UUID(pending.pop(0)))
            if target is not None:
                _start_handler(my_task, target)
                return
        my_task._set_state(TaskState.READY)


def _handlers(my_task: Any) -> dict[str, str]:
    return getattr(my_task.workflow.spec, "compensation_handlers", None) or {}


def _compensable(my_task: Any, activity: str | None) -> list[Any]:
    """Completed, not yet compensated activity tasks of the scope that have a handler, latest first."""
    handlers = _handlers(my_task)
    found = [t for t in my_task.workflow.tasks.values()
             if t.state == TaskState.COMPLETED and t.task_spec.name in handlers
             and (activity is None or t.task_spec.name == activity) and not t.internal_data.get(_DONE)]
    return sorted(found, key=lambda t: t.last_state_change, reverse=True)


def _start_handler(my_task: Any, target: Any) -> None:
    target.internal_data[_DONE] = True
    spec = my_task.workflow.spec.task_specs[_handlers(my_task)[target.task_spec.name]]
    child = my_task._add_child(spec, TaskState.WAITING)
    child.triggered = True
    spec._update(child)


def connect_handlers(specs: Any) -> None:
    """Connect the compensating events of every spec to the completion of the scope's handlers."""
    for spec in specs:
        handlers = getattr(spec, "compensation_handlers", None) or {}
        throwers = [t for t in spec.task_specs.values() if isinstance(t, CompensationMixin)]
        for handler in {spec.task_specs.get(name) for name in handlers.values()} - {None}:
            # A handler has no incoming flow; SpiffWorkflow refuses to run a spec without inputs.
            handler.inputs = handler.inputs or list(throwers)
            for thrower in throwers:
                if not handler.completed_event.is_connected(thrower.handler_done):
                    handler.completed_event.connect(thrower.handler_done)


class CompensatingThrowEvent(CompensationMixin, IntermediateThrowEvent):
    """An intermediate throw event, compensating when it has a `compensateEventDefinition`."""


class CompensatingEndEvent(CompensationMixin, EndEvent):
    """An end event, compensating when it has a `compensateEventDefinition` or cancels a transaction."""


class CompensationThrowEventParser(SpiffIntermediateThrowEventParser):
    """Also reads `compensateEventDefinition`."""

    def create_task(self) -> Any:
        task = super().create_task()
        read_compensation(self, task)
        return task
