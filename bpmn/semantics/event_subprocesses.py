"""Event sub-processes nested in sub-processes.

SpiffWorkflow 3.2.0 starts an event sub-process only when it belongs to the top-level process
(`EventManager.update_collaboration` looks at the top workflow's triggers alone): one inside a
sub-process never starts, and its event goes uncaught. `start_in_scope` starts the event
sub-process of one scope (the process itself or a sub-process) whose start event matches an event
and delivers the event to it. Errors and escalations look for it scope by scope from the thrower
outwards (`bpmn.semantics.propagation`); for signals and messages nothing else caught,
`PatchbayWorkflow.catch` calls `trigger_nested`: the innermost running scope with a matching event
sub-process gets it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import CodeEventDefinition

T = TypeVar("T")


def trigger_nested(workflow: Any, event: BpmnEvent, origin: Any) -> bool:
    """Start a matching event sub-process of a sub-process scope and deliver `event`; True if one did."""
    return any(start_in_scope(workflow, scope, event) for scope in _scopes(workflow, origin))


def start_in_scope(workflow: Any, scope: Any, event: BpmnEvent, *, skip: str | None = None) -> bool:
    """Start the event sub-process of `scope` whose start event matches `event` and deliver the event
    to it; True if one started. `skip` names an event sub-process that may not start (the one the
    event came out of)."""
    name = _matching_trigger(workflow, scope, event, skip)
    if name is None:
        return False
    child_id = scope.spec.start.trigger_wf(scope.task_tree, name)
    target = workflow.subprocesses.get(child_id)
    if target is None:
        return False
    workflow.event_manager.catch(BpmnEvent(event.event_definition, payload=event.payload,
                                           correlations=event.correlations, target=target))
    return True


def most_specific(candidates: list[T], definition_of: Callable[[T], Any]) -> list[T]:
    """The candidates whose event definition names a code, if any does, else all (BPMN 10.5.6: a
    catch-all error or escalation handler only takes what no handler for the code takes)."""
    named = [c for c in candidates
             if not isinstance(definition_of(c), CodeEventDefinition) or definition_of(c).code is not None]
    return named or candidates


def _scopes(workflow: Any, origin: Any) -> Iterator[Any]:
    """Running sub-process scopes, innermost first: the chain above `origin`, or all when untargeted."""
    if origin is not None:
        scope = origin
        while scope is not None and scope is not workflow:
            yield scope
            scope = scope.parent_workflow
        return
    yield from sorted(workflow.get_active_subprocesses(), key=lambda sp: sp.depth, reverse=True)


def _matching_trigger(workflow: Any, scope: Any, event: BpmnEvent, skip: str | None) -> str | None:
    matches: list[tuple[str, Any]] = []
    for name in getattr(scope.spec.start, "trigger_specs", ()):
        spec = workflow.subprocess_specs.get(name)
        if spec is None or name == skip:
            continue
        matches.extend((str(name), ts.event_definition) for ts in spec.bpmn_start_events
                       if ts.event_definition == event.event_definition)
    best = most_specific(matches, lambda match: match[1])
    return best[0][0] if best else None
