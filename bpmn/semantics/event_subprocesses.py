"""Event sub-processes nested in sub-processes.

SpiffWorkflow 3.2.0 starts an event sub-process only when it belongs to the top-level process
(`EventManager.update_collaboration` looks at the top workflow's triggers alone): one inside a
sub-process never starts, and its event goes uncaught. `PatchbayWorkflow.catch` calls
`trigger_nested` for every event nothing caught: the innermost enclosing scope (for errors and
escalations, starting at the scope that threw; for signals and messages, any running scope) whose
event sub-process has a matching start event gets it started, and the event is delivered to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent


def trigger_nested(workflow: Any, event: BpmnEvent, origin: Any) -> bool:
    """Start a matching event sub-process of a sub-process scope and deliver `event`; True if one did."""
    for scope in _scopes(workflow, origin):
        name = _matching_trigger(workflow, scope, event)
        if name is None:
            continue
        child_id = scope.spec.start.trigger_wf(scope.task_tree, name)
        target = workflow.subprocesses.get(child_id)
        if target is None:
            continue
        workflow.event_manager.catch(BpmnEvent(event.event_definition, payload=event.payload,
                                               correlations=event.correlations, target=target))
        return True
    return False


def _scopes(workflow: Any, origin: Any) -> Iterator[Any]:
    """Running sub-process scopes, innermost first: the chain above `origin`, or all when untargeted."""
    if origin is not None:
        scope = origin
        while scope is not None and scope is not workflow:
            yield scope
            scope = scope.parent_workflow
        return
    yield from sorted(workflow.get_active_subprocesses(), key=lambda sp: sp.depth, reverse=True)


def _matching_trigger(workflow: Any, scope: Any, event: BpmnEvent) -> str | None:
    for name in getattr(scope.spec.start, "trigger_specs", ()):
        spec = workflow.subprocess_specs.get(name)
        if spec is None:
            continue
        if any(ts.event_definition == event.event_definition for ts in spec.bpmn_start_events):
            return str(name)
    return None
