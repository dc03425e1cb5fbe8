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
  then throws the cancel (the transaction's cancel boundary event takes over), as BPMN requires;
- a compensation event sub-process (BPMN 10.3.5: an event sub-process of a sub-process, started by
  a compensation start event) is the compensation handler of its sub-process. `open_event_handlers`
  (a tree rewrite) turns it into a detached handler inside the sub-process; compensating the
  completed sub-process re-opens its finished scope, runs the handler there (with the sub-process's
  data and completed activities) and closes the scope again. A compensation throw event inside the
  handler compensates the activities of that sub-process, its enclosing scope.
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
from bpmn.semantics.propagation import ScopedThrowMixin

HANDLER_ATTRIBUTE = f"{{{PB_NS}}}compensationHandler"
# On a sub-process: the id of its compensation event sub-process; on that handler: "true".
EVENT_HANDLER_ATTRIBUTE = f"{{{PB_NS}}}compensationEventSubProcess"
IN_PARENT_ATTRIBUTE = f"{{{PB_NS}}}compensatesParent"
_BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_PENDING = "patchbay_compensation"  # on the throwing task: ids of the activities still to compensate
_DONE = "patchbay_compensated"  # on a compensated activity's task
_THROWER = "patchbay_compensation_thrower"  # on a running compensation event sub-process: who waits


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


def open_event_handlers(tree: Any) -> None:
    """Make each compensation event sub-process of a sub-process a detached handler of that scope.

    The start event loses its compensation trigger (SpiffWorkflow would otherwise run the event
    sub-process at once, as one with a none start); the scope records which handler is its own. One
    directly in a process is left alone: a process is never compensated, validation reports it.
    """
    ns = {"bpmn": _BPMN}
    path = "//bpmn:*[@triggeredByEvent='true'][bpmn:startEvent/bpmn:compensateEventDefinition]"
    for handler in tree.xpath(path, namespaces=ns):
        scope = handler.getparent()
        if scope is None or scope.tag == f"{{{_BPMN}}}process":
            continue
        for definition in handler.xpath("./bpmn:startEvent/bpmn:compensateEventDefinition", namespaces=ns):
            definition.getparent().remove(definition)
        handler.set("triggeredByEvent", "false")
        handler.set("isForCompensation", "true")
        handler.set(IN_PARENT_ATTRIBUTE, "true")
        scope.set(EVENT_HANDLER_ATTRIBUTE, handler.get("id"))


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
        self.spec.compensation_event_handler = self.node.get(EVENT_HANDLER_ATTRIBUTE)
        self.spec.compensates_parent = self.node.get(IN_PARENT_ATTRIBUTE) == "true"


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
        if my_task is None or my_task.task_spec is not self:
            return
        self.resume(my_task, child)

    def resume(self, my_task: Any, child: Any) -> None:
        """The handler `child` of `my_task` finished: start the next one, or let the event complete."""
        if my_task.state != TaskState.STARTED:
            return
        my_task.data.update(child.data)
        pending = my_task.internal_data.get(_PENDING, [])
        while pending:
            target = my_task.workflow.get_task_from_id(UUID(pending.pop(0)))
            if target is not None:
                _start_handler(my_task, target)
                return
        my_task._set_state(TaskState.READY)


def _scope(my_task: Any) -> Any:
    """The workflow whose activities a throw event compensates: its own, or, inside a compensation
    event sub-process, the sub-process that handler belongs to."""
    workflow = my_task.workflow
    if getattr(workflow.spec, "compensates_parent", False) and getattr(workflow, "parent_workflow", None):
        return workflow.parent_workflow
    return workflow


def _handlers(my_task: Any) -> dict[str, str]:
    return getattr(_scope(my_task).spec, "compensation_handlers", None) or {}


def _finished_scope(task: Any) -> Any | None:
    """The completed sub-process instance of `task` when it has a compensation event sub-process."""
    scope = task.workflow.top_workflow.subprocesses.get(task.id)
    return scope if scope is not None and getattr(scope.spec, "compensation_event_handler", None) else None


def _compensable(my_task: Any, activity: str | None) -> list[Any]:
    """Completed, not yet compensated activity tasks of the scope that have a handler, latest first."""
    handlers = _handlers(my_task)
    found = [t for t in _scope(my_task).tasks.values()
             if t.state == TaskState.COMPLETED and (t.task_spec.name in handlers or _finished_scope(t))
             and (activity is None or t.task_spec.name == activity) and not t.internal_data.get(_DONE)]
    return sorted(found, key=lambda t: t.last_state_change, reverse=True)


def _start_handler(my_task: Any, target: Any) -> None:
    target.internal_data[_DONE] = True
    finished = _finished_scope(target)
    if finished is not None and target.task_spec.name not in _handlers(my_task):
        _start_event_handler(my_task, finished)
        return
    spec = _scope(my_task).spec.task_specs[_handlers(my_task)[target.task_spec.name]]
    child = my_task._add_child(spec, TaskState.WAITING)
    child.triggered = True
    spec._update(child)


def _start_event_handler(my_task: Any, scope: Any) -> None:
    """Re-open the finished sub-process `scope` and start its compensation event sub-process there."""
    spec = scope.spec.task_specs[scope.spec.compensation_event_handler]
    # Under the scope's last task, the handler inherits the sub-process's data as it completed.
    child = (scope.last_task or scope.task_tree)._add_child(spec, TaskState.WAITING)
    child.triggered = True
    child.internal_data[_THROWER] = str(my_task.id)
    scope.completed = False  # so the engine runs the scope's tasks again, until the handler is done
    spec._update(child)


def event_handler_done(workflow: Any, child: Any) -> None:
    """A compensation event sub-process finished: close its scope again and resume the throw event."""
    thrower_id = child.internal_data.get(_THROWER)
    if thrower_id is None:
        return
    child.workflow.completed = True
    thrower = child.workflow.top_workflow.get_task_from_id(UUID(thrower_id))
    if thrower is not None and isinstance(thrower.task_spec, CompensationMixin):
        thrower.task_spec.resume(thrower, child)


def connect_handlers(specs: Any) -> None:
    """Connect the compensating events to the completion of the handlers they may start.

    Every thrower of the model is connected to every handler: a throw event inside a compensation
    event sub-process runs the handlers of the enclosing scope's spec, and `handler_done` ignores a
    handler that is not its own child.
    """
    specs = list(specs)
    throwers = [t for spec in specs for t in spec.task_specs.values() if isinstance(t, CompensationMixin)]
    for spec in specs:
        handlers = getattr(spec, "compensation_handlers", None) or {}
        own = [t for t in spec.task_specs.values() if isinstance(t, CompensationMixin)]
        for handler in {spec.task_specs.get(name) for name in handlers.values()} - {None}:
            # A handler has no incoming flow; SpiffWorkflow refuses to run a spec without inputs.
            handler.inputs = handler.inputs or own or [spec.start]
            for thrower in throwers:
                if not handler.completed_event.is_connected(thrower.handler_done):
                    handler.completed_event.connect(thrower.handler_done)
        event_handler = spec.task_specs.get(getattr(spec, "compensation_event_handler", None) or "")
        if event_handler is not None:
            event_handler.inputs = event_handler.inputs or [spec.start]
            if not event_handler.completed_event.is_connected(event_handler_done):
                event_handler.completed_event.connect(event_handler_done)


class CompensatingThrowEvent(ScopedThrowMixin, CompensationMixin, IntermediateThrowEvent):
    """An intermediate throw event, compensating when it has a `compensateEventDefinition`; an
    escalation it throws goes to the innermost handler (`bpmn.semantics.propagation`)."""


class CompensatingEndEvent(ScopedThrowMixin, CompensationMixin, EndEvent):
    """An end event, compensating when it has a `compensateEventDefinition` or cancels a transaction;
    an error or escalation it throws goes to the innermost handler (`bpmn.semantics.propagation`)."""


class CompensationThrowEventParser(SpiffIntermediateThrowEventParser):
    """Also reads `compensateEventDefinition`."""

    def create_task(self) -> Any:
        task = super().create_task()
        read_compensation(self, task)
        return task
