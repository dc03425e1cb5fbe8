"""Event sub-processes nested in sub-processes.

SpiffWorkflow 3.2.0 starts an event sub-process only when it belongs to the top-level process
(`EventManager.update_collaboration` looks at the top workflow's triggers alone): one inside a
sub-process never starts, and its event goes uncaught. `start_in_scope` starts the event
sub-process of one scope (the process itself or a sub-process) whose start event matches an event
and delivers the event to it. Errors and escalations look for it scope by scope from the thrower
outwards (`bpmn.semantics.propagation`); for a message nothing else caught, `PatchbayWorkflow.catch`
calls `trigger_nested`: the innermost running scope with a matching event sub-process gets it. A
signal is broadcast (BPMN 2.0.2 10.5.1; Camunda, Flowable): every running scope waiting for it
starts its handler (`signal_scopes`, `start_in_scopes`), whatever else caught it.

A non-interrupting event sub-process shares its scope's variables, as in Camunda and Flowable:
`share_writes` hands what it changed on to the scope when it completes. SpiffWorkflow gives it a
copy of the data and hands a scope's data on along the path that completes the scope, so what it
wrote was dropped (or, when it finished last, its stale copy replaced what the main path wrote).

When its event fires, an event sub-process takes its scope's current data (`take_current_data`):
SpiffWorkflow gave it the data the scope started with. Start events waiting for a message
(`waiting_starts`) are subscriptions of the instance while their scope runs; SpiffWorkflow creates
no task for them before they fire, so `start_handler` starts one for a message delivered from outside.

Once an interrupting event sub-process of a scope fired, the scope is being interrupted (BPMN 2.0.2
10.3.5; Camunda, Zeebe): no other event sub-process of it starts any more, whatever its trigger
(`accepts_events`). SpiffWorkflow only cancels the scope's tokens, so a signal, a condition or an
error thrown by the interrupting handler itself still started a second handler there. Handlers of
the scope still running are cancelled with its tokens (`bpmn.semantics.events.cancel_scope_except`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from copy import deepcopy
from dataclasses import dataclass
from typing import Any, TypeVar

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import CodeEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.util.task import TaskState

from bpmn.expressions.changes import DELETED, commit
from bpmn.semantics.boundary_events import is_armed_boundary

T = TypeVar("T")
# Tasks that hold a token: their data is what the scope's path goes on with.
_LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass(frozen=True)
class WaitingStart:
    """The start event of an event sub-process, waiting while its scope runs (SpiffWorkflow creates
    no task for it until it fires)."""

    scope: Any  # the process or sub-process (workflow) holding the event sub-process
    handler: str  # the event sub-process's spec name
    start: Any  # its start event spec

    @property
    def key(self) -> str:
        """Stable while the scope runs and distinct per scope: the scope's first task's id."""
        return str(self.scope.task_tree.id)


def waiting_starts(workflow: Any, kind: type) -> Iterator[WaitingStart]:
    """Start events with an event definition of `kind` of the event sub-processes of every running
    scope (the process and its running sub-processes) that can still start.

    A scope whose interrupting event sub-process fired is ending: it waits for nothing more (Camunda
    removes its event subscriptions). An event sub-process that has not fired yet (a timer one
    waiting at its start) is not running: its own event sub-processes do not wait yet.
    """
    for scope in [workflow, *workflow.get_active_subprocesses()]:
        names = getattr(scope.spec.start, "trigger_specs", ())
        if not names:
            continue  # most scopes: no event sub-process started by an event
        starts = [WaitingStart(scope, str(name), start) for name in names
                  for start in getattr(workflow.subprocess_specs.get(name), "bpmn_start_events", ())
                  if isinstance(start.event_definition, kind)]
        if starts and accepts_events(workflow, scope):
            yield from starts


def start_handler(workflow: Any, waiting: WaitingStart, event: BpmnEvent) -> Any:
    """Start the event sub-process of `waiting` and deliver `event` to its start event; that start
    event's task (fired: READY, or already run on)."""
    child_id = waiting.scope.spec.start.trigger_wf(waiting.scope.task_tree, waiting.handler)
    target = workflow.subprocesses[child_id]
    workflow.event_manager.catch(BpmnEvent(event.event_definition, payload=event.payload,
                                           correlations=event.correlations, target=target))
    return next(t for t in target.tasks.values() if t.task_spec is waiting.start)


def fired_starts(workflow: Any, definition: Any) -> list[Any]:
    """Start event tasks of event sub-processes that `definition` fired and that have not run yet.

    Called right after an event was delivered to an instance at rest (where no start event is
    ready): every ready one with this definition was fired by that event.
    """
    return [task for sub in workflow.subprocesses.values() if sub.task_tree is not None
            for task in sub.task_tree.children
            if task.state == TaskState.READY and isinstance(task.task_spec, StartEvent)
            and task.task_spec.event_definition == definition]


def accepts_events(workflow: Any, scope: Any) -> bool:
    """Whether an event may still start an event sub-process of `scope`: the scope runs and no
    interrupting event sub-process of it has fired."""
    return (scope.task_tree is not None and not scope.completed and _running(scope)
            and not is_interrupted(workflow, scope))


def _running(scope: Any) -> bool:
    # A scope that is an event sub-process runs once its start event fired.
    return not any(isinstance(t.task_spec, StartEvent) and t.state == TaskState.WAITING
                   for t in scope.task_tree.children)


def is_interrupted(workflow: Any, scope: Any) -> bool:
    """Whether an interrupting event sub-process of `scope` has fired (its handler runs or ran)."""
    for sub in workflow.subprocesses.values():
        if sub.task_tree is None or sub.parent_workflow is not scope:
            continue
        if any(isinstance(t.task_spec, StartEvent) and getattr(t.task_spec, "interrupting", True) is True
               and t.state & (TaskState.READY | TaskState.COMPLETED)
               and not isinstance(t.task_spec.event_definition, NoneEventDefinition)
               for t in sub.task_tree.children):
            return True
    return False


def trigger_nested(workflow: Any, event: BpmnEvent, origin: Any) -> bool:
    """Start a matching event sub-process of a sub-process scope and deliver `event`; True if one did."""
    return any(start_in_scope(workflow, scope, event) for scope in _scopes(workflow, origin))


def signal_scopes(workflow: Any) -> list[Any]:
    """The running sub-process scopes with an event sub-process that may start on a signal now,
    outermost first.

    Taken before the signal is delivered anywhere: a scope the delivery itself starts (an event
    sub-process it fires) was not waiting for it, as in Camunda, whose subscriptions are read first.
    Outermost first, the order in which Camunda created their subscriptions: an interrupting handler
    of an outer scope cancels the scopes inside it before they get the signal.
    """
    return sorted((scope for scope in workflow.get_active_subprocesses()
                   if getattr(scope.spec.start, "trigger_specs", ()) and accepts_events(workflow, scope)),
                  key=lambda scope: scope.depth)


def start_in_scopes(workflow: Any, scopes: list[Any], event: BpmnEvent) -> int:
    """Start the matching event sub-process of each of `scopes` and deliver `event` to it; how many started.

    Each scope is asked again: what the signal did before (an interrupting boundary event or event
    sub-process around it) may have cancelled or interrupted it.
    """
    return sum(start_in_scope(workflow, scope, event) for scope in scopes)


def start_in_scope(workflow: Any, scope: Any, event: BpmnEvent, *, skip: str | None = None) -> bool:
    """Start the event sub-process of `scope` whose start event matches `event` and deliver the event
    to it; True if one started. `skip` names an event sub-process that may not start (the one the
    event came out of). A scope being interrupted starts none: an error or escalation its
    interrupting handler throws goes on to the scopes outside (as in Zeebe)."""
    if not accepts_events(workflow, scope):
        return False
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


def take_current_data(start_task: Any) -> None:
    """An event sub-process's start event fires: its handler starts from its scope's data as it is now.

    SpiffWorkflow handed it the scope's data as it was when the scope started (Camunda's and
    Flowable's handlers see the current variables). Must run before an interrupting one cancels the
    scope's tokens, which hold that data. The sub-process's first task gets the same copy: it is the
    baseline `share_writes` measures the handler's changes against, so a name the main path wrote
    before the event is not taken for the handler's own write.
    """
    subworkflow = start_task.workflow
    parent_id = getattr(subworkflow, "parent_task_id", None)
    if parent_id is None:
        return  # a start event of the process itself
    holder = subworkflow.top_workflow.get_task_from_id(parent_id)
    if holder is None or not is_event_subprocess(holder, subworkflow):
        return
    data = scope_data(holder.workflow)
    subworkflow.task_tree.data = deepcopy(data)
    start_task.data = deepcopy(data)


def share_writes(subworkflow: Any) -> None:
    """Hand what a just-completed non-interrupting event sub-process changed on to its scope.

    Only the names it changed (set, replaced or deleted) relative to its starting copy are written,
    into the data of every token of the scope (also inside the sub-processes it is running), so a
    name it did not touch keeps what the main path wrote meanwhile. Writes land when it completes:
    of two writes to one name, the one completing later wins. Interrupting event sub-processes are
    left alone: they end their scope and hand on all their data.
    """
    holder = subworkflow.top_workflow.get_task_from_id(subworkflow.parent_task_id)
    if holder is None or not _runs_beside_its_scope(subworkflow):
        return
    changes = changed_names(subworkflow.task_tree.data, subworkflow.last_task.data)
    tokens: list[dict[str, Any]] = []
    for data, armed in _live_data(holder.workflow, skip=holder):
        commit(data, _copied(changes))  # an armed boundary event's copy too: it is what its path starts with
        if not armed:
            tokens.append(data)
    # SpiffWorkflow still reads the event sub-process's task: the scope's end merges it like a branch
    # (a timer one is wired there) and conditions are evaluated in the scope's last completed task.
    # It gets the scope's current data (the latest token's, as the instance's variables overlay
    # them), never its own stale copy.
    holder.data = dict(tokens[-1]) if tokens else {n: v for n, v in changes.items() if v is not DELETED}


def scope_data(scope: Any) -> dict[str, Any]:
    """The variables of a scope now, read as `bpmn.harvest.census` reads the instance's:
    its last completed task's data, overlaid by the data of its tokens in task order (also those
    inside the sub-processes it runs; other event sub-processes work on their own copies)."""
    last = scope.last_task
    data: dict[str, Any] = dict(last.data) if last is not None else dict(scope.task_tree.data)
    for token, armed in _live_data(scope, skip=None):
        if not armed:
            data.update(token)
    return data


def changed_names(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """The names `after` set to another value than `before` held, and `DELETED` for those it lacks."""
    changes = {name: value for name, value in after.items()
               if name not in before or (before[name] is not value and before[name] != value)}
    changes.update((name, DELETED) for name in before if name not in after)
    return changes


def _runs_beside_its_scope(subworkflow: Any) -> bool:
    # Only an event sub-process's start event can be non-interrupting (a sub-process starts with a
    # none start event); the flag is read by `bpmn.semantics.events.PatchbayStartEventParser`.
    return any(isinstance(task.task_spec, StartEvent) and getattr(task.task_spec, "interrupting", True) is False
               for task in subworkflow.tasks.values())


def _live_data(scope: Any, *, skip: Any) -> Iterator[tuple[dict[str, Any], bool]]:
    """The data dicts the tokens of `scope` go on with, including those inside running sub-processes,
    each with whether it belongs to a boundary event waiting for its trigger: such a dict is a stale
    copy of its activity's input (`bpmn.semantics.boundary_events.is_armed_boundary`), written to but
    never read as the scope's variables.
    """
    for task in list(scope.tasks.values()):
        if task is skip or not task.has_state(_LIVE):
            continue
        if isinstance(task.task_spec, Join) and task.state == TaskState.WAITING:
            # A branch waiting at a join (also the scope's end) keeps its data on the task that
            # arrived: the join takes its parents' data when it fires.
            if task.parent is not None:
                yield task.parent.data, False
            continue
        inner = scope.top_workflow.subprocesses.get(task.id)
        if inner is not None and is_event_subprocess(task, inner):
            continue  # another event sub-process works on its own copy and hands on only its changes
        yield task.data, is_armed_boundary(task)
        if inner is not None:
            yield from _live_data(inner, skip=skip)


def is_event_subprocess(holder: Any, subworkflow: Any) -> bool:
    """Whether `holder` runs `subworkflow` as an event sub-process."""
    # SpiffWorkflow builds a nested event sub-process as a plain sub-process; what marks it is a
    # start event waiting for an event (a sub-process's start event is a none event).
    return not isinstance(holder.task_spec, CallActivity) and any(
        isinstance(spec, StartEvent) and not isinstance(spec.event_definition, NoneEventDefinition)
        for spec in subworkflow.spec.task_specs.values())


def _copied(changes: Mapping[str, Any]) -> dict[str, Any]:
    # Each token gets its own copy (SpiffWorkflow's joins merge nested dicts in place); the
    # `DELETED` marker must stay the same object.
    return {name: value if value is DELETED else deepcopy(value) for name, value in changes.items()}
