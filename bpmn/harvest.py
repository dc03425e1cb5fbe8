"""Reading a workflow's state into plain data: what waits, what completed, what must happen next.

The engine takes an `Observation` before a command and compares it with the state after the engine
ran, so a step reports exactly what changed (work items opened and closed, service calls requested,
activities completed in order) however the change came about.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.util.task import TaskState

from bpmn.errors import ExpressionError
from bpmn.semantics import event_subprocesses
from bpmn.semantics.boundary_events import is_armed_boundary
from bpmn.semantics.rewrite import SYNTHETIC, stands_for
from bpmn.specs import SERVICE_CALL_KEY, ParkedServiceTask
from bpmn.types import MessageSubscription, ServiceCallRequest, SignalSubscription, WorkItemRequest

_OPEN_STATES = TaskState.READY | TaskState.WAITING | TaskState.STARTED


def activity_id(task: Any) -> str | None:
    """The BPMN element id of a task, or None for SpiffWorkflow's internal tasks (Root, EndJoin...).

    Elements that `bpmn.semantics` added to the model count as internal too, except those that run an
    analyst's element (a called global task's body reports the global task's id).
    """
    bpmn_id: str | None = getattr(task.task_spec, "bpmn_id", None)
    if bpmn_id is None or SYNTHETIC not in bpmn_id:
        return bpmn_id
    return stands_for(bpmn_id)


def all_tasks(workflow: Any) -> list[Any]:
    """Every task of the instance, sub-processes included."""
    tasks = list(workflow.tasks.values())
    for subprocess in workflow.subprocesses.values():
        tasks.extend(subprocess.tasks.values())
    return tasks


@dataclass(frozen=True)
class Observation:
    """The ids of tasks in the states a step compares before and after."""

    completed: frozenset[Any]
    open_work_items: frozenset[Any]
    started_service_tasks: frozenset[Any]

    @classmethod
    def of(cls, workflow: Any) -> Observation:
        """Observe a workflow now."""
        tasks = all_tasks(workflow)
        return cls(
            completed=frozenset(t.id for t in tasks if t.state == TaskState.COMPLETED),
            open_work_items=frozenset(t.id for t in tasks if _is_work_item(t)),
            started_service_tasks=frozenset(t.id for t in tasks if _is_parked_service(t)),
        )

    @classmethod
    def empty(cls) -> Observation:
        """The observation of an instance that does not exist yet."""
        return cls(frozenset(), frozenset(), frozenset())


@dataclass(frozen=True)
class Census:
    """What a step's result reads from the task map, gathered in one walk over every task.

    - `completed`: tasks with an element id completed since the observation, in completion order.
    - `variables`: the instance's variables. SpiffWorkflow keeps one data copy per branch, and
      `last_task` is whichever branch ran last, so its data alone depended on scheduling. The rule
      is deterministic: the last completed task's data, overlaid by the data of every open (ready,
      waiting or started) task in task order, later and open tasks winning on equal names. A
      completed instance has no open task: its variables are its end's (merged from every branch).
    - `active`: element ids of the tasks holding a token, in tree order.
    - `work_items_opened` / `work_items_closed`: user and manual tasks that became ready since the
      observation / ids of those open then and not any more.
    - `service_calls`: service tasks parked since the observation, with their evaluated parameters.
    - `calls_withdrawn`: calls of tasks parked then that are neither parked nor completed now (only
      an answer completes a parked task; any other way out leaves a call nobody will read).
    - `stalled`: not complete, yet nothing visible is open and nothing waits.
    """

    completed: list[Any]
    variables: dict[str, Any]
    active: list[str]
    work_items_opened: list[WorkItemRequest]
    work_items_closed: list[str]
    service_calls: list[ServiceCallRequest]
    calls_withdrawn: list[str]
    stalled: bool


def census(workflow: Any, before: Observation) -> Census:
    """Take the `Census` of a workflow against the observation `before` the step."""
    last = workflow.last_task
    variables: dict[str, Any] = dict(last.data) if last is not None else {}
    completed: list[Any] = []
    active: dict[str, None] = {}  # insertion-ordered set
    open_work_items: list[Any] = []
    parked: list[Any] = []
    holds_token = False
    keep_states = bool(before.started_service_tasks)
    states: dict[Any, int] = {}
    for task in all_tasks(workflow):
        state = task.state
        element = activity_id(task)
        if keep_states:
            states[task.id] = state
        if state == TaskState.COMPLETED:
            if element and task.id not in before.completed:
                completed.append(task)
        elif state & _OPEN_STATES:
            if task.data and not is_armed_boundary(task):
                variables.update(task.data)
            if element:
                active[element] = None
            holds_token = holds_token or bool(element) or bool(state & TaskState.WAITING)
            if _is_work_item(task):
                open_work_items.append(task)
            elif _is_parked_service(task):
                parked.append(task)
    completed.sort(key=lambda t: t.last_state_change)
    still_open = {t.id for t in open_work_items}
    kept = TaskState.STARTED | TaskState.COMPLETED
    return Census(
        completed=completed,
        variables=variables,
        active=list(active),
        work_items_opened=[_work_item(t) for t in open_work_items if t.id not in before.open_work_items],
        work_items_closed=sorted(str(i) for i in before.open_work_items - still_open),
        service_calls=[_service_call(t) for t in parked if t.id not in before.started_service_tasks],
        calls_withdrawn=sorted(str(i) for i in before.started_service_tasks
                               if not states.get(i, TaskState.CANCELLED) & kept),
        stalled=not workflow.completed and not holds_token,
    )


def _is_work_item(task: Any) -> bool:
    return bool(task.task_spec.manual) and task.state == TaskState.READY and activity_id(task) is not None


def _is_parked_service(task: Any) -> bool:
    return isinstance(task.task_spec, ParkedServiceTask) and task.state == TaskState.STARTED


def completed_since(workflow: Any, before: Observation) -> list[Any]:
    """Tasks completed since `before`, in completion order, visible ones (with an element id) only."""
    done = [t for t in all_tasks(workflow)
            if t.state == TaskState.COMPLETED and t.id not in before.completed and activity_id(t)]
    return sorted(done, key=lambda t: t.last_state_change)


def _work_item(task: Any) -> WorkItemRequest:
    spec = task.task_spec
    extensions = getattr(spec, "extensions", None) or {}
    properties = extensions.get("properties", {}) if isinstance(extensions, dict) else {}
    return WorkItemRequest(
        id=str(task.id),
        activity_id=spec.bpmn_id,
        name=spec.bpmn_name or spec.bpmn_id,
        kind="manual" if type(spec).__name__ == "ManualTask" else "user",
        lane=spec.lane,
        documentation=spec.documentation,
        properties={str(k): str(v) for k, v in properties.items()},
        extensions=json_safe({k: v for k, v in extensions.items() if k != "properties"}),
    )


def _service_call(task: Any) -> ServiceCallRequest:
    call = task.internal_data.get(SERVICE_CALL_KEY, {})
    return ServiceCallRequest(
        id=str(task.id),
        activity_id=task.task_spec.bpmn_id,
        operation=call.get("operation", task.task_spec.operation_name),
        parameters=json_safe(call.get("parameters", {})),
        result_variable=task.task_spec.result_variable,
    )


def event_definitions(task: Any) -> list[Any]:
    """The event definitions a catching task waits for (the members of a multiple/gateway event)."""
    definition = getattr(task.task_spec, "event_definition", None)
    if isinstance(definition, MultipleEventDefinition):
        return list(definition.event_definitions)
    return [definition] if definition is not None else []


def waiting_messages(workflow: Any) -> list[tuple[Any, Any]]:
    """(task, message definition) for every message a waiting task of the instance can catch."""
    return [(task, definition) for task in workflow.event_manager.tasks.values()
            if task.state == TaskState.WAITING
            for definition in event_definitions(task) if isinstance(definition, MessageEventDefinition)]


def message_subscriptions(workflow: Any) -> list[MessageSubscription]:
    """Every catch event or receive task now waiting for a message, with its correlation values, and
    the message start events of the event sub-processes of every running scope.

    A correlation property's retrieval expression is evaluated against the waiting task's data (for
    an event sub-process: its scope's current data): the values the instance expects the message to
    carry. A property that cannot be evaluated yet is left out (the subscription is then matched on
    the remaining ones). An event sub-process's subscription has no task yet: its `task_id` is its
    scope's (`WaitingStart.key`).
    """
    found = [MessageSubscription(
        task_id=str(task.id),
        activity_id=activity_id(task) or task.task_spec.name,
        name=definition.name,
        correlation=_expected_correlation(workflow, task, definition),
    ) for task, definition in waiting_messages(workflow)]
    found.extend(MessageSubscription(
        task_id=waiting.key,
        activity_id=waiting.start.bpmn_id or waiting.start.name,
        name=waiting.start.event_definition.name,
        correlation=expected_in_scope(workflow, waiting),
    ) for waiting in waiting_message_starts(workflow))
    return found


def waiting_message_starts(workflow: Any) -> list[event_subprocesses.WaitingStart]:
    """The message start events of event sub-processes that their running scopes wait for."""
    return list(event_subprocesses.waiting_starts(workflow, MessageEventDefinition))


def expected_in_scope(workflow: Any, waiting: event_subprocesses.WaitingStart) -> dict[str, Any]:
    """The correlation values a waiting event sub-process expects, read from its scope's data now."""
    definition = waiting.start.event_definition
    if not definition.correlation_properties:
        return {}
    data = event_subprocesses.scope_data(waiting.scope)
    values: dict[str, Any] = {}
    for prop in definition.correlation_properties:
        try:
            values[prop.name] = json_safe(workflow.script_engine.environment.evaluate(
                prop.retrieval_expression, data, external_context=workflow.data_objects or None))
        except ExpressionError:
            continue
    return values


def signal_subscriptions(workflow: Any) -> list[SignalSubscription]:
    """Every signal the instance can catch now, one entry per catching element (no duplicates).

    Waiting catch and boundary events (also members of event-based gateways), and the signal start
    events of the event sub-processes of the process and of every running sub-process: those wait
    as long as their scope runs and is not being interrupted, although SpiffWorkflow only creates
    their tasks when they fire.
    """
    found: dict[tuple[str, str], SignalSubscription] = {}
    for task in workflow.event_manager.tasks.values():
        if task.state != TaskState.WAITING:
            continue
        for definition in event_definitions(task):
            if isinstance(definition, SignalEventDefinition):
                element = activity_id(task) or task.task_spec.name
                found.setdefault((element, definition.name), SignalSubscription(element, definition.name))
    for waiting in event_subprocesses.waiting_starts(workflow, SignalEventDefinition):
        element, name = waiting.start.bpmn_id or waiting.start.name, waiting.start.event_definition.name
        found.setdefault((element, name), SignalSubscription(element, name))
    return list(found.values())


def _expected_correlation(workflow: Any, task: Any, definition: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for prop in definition.correlation_properties:
        try:
            values[prop.name] = json_safe(workflow.script_engine.evaluate(task, prop.retrieval_expression))
        except ExpressionError:
            continue
    return values


def next_timer_at(workflow: Any) -> datetime | None:
    """The earliest due time of any waiting timer (event-based gateways and event sub-processes too)."""
    due = [d for d in (timer_due(t) for t in workflow.event_manager.tasks.values()) if d is not None]
    return min(due) if due else None


def timer_due(task: Any) -> datetime | None:
    """When a waiting timer task is due, or None if it is not a timer (or has no cycles left)."""
    timers = [d for d in event_definitions(task) if isinstance(d, TimerEventDefinition)]
    value = task.internal_data.get("event_value")
    if not timers or value is None or task.state != TaskState.WAITING:
        return None
    if isinstance(timers[0], CycleTimerEventDefinition):
        return datetime.fromisoformat(value["next"]) if value.get("cycles", 0) != 0 else None
    if not isinstance(value, str):
        return None
    parsed = TimerEventDefinition.parse_time_or_duration(value)
    return parsed if isinstance(parsed, datetime) else None


def json_safe(value: Any) -> Any:
    """Data as JSON: dates as ISO text, decimals as text, sets as sorted lists, unknowns as text.

    The result is a fresh copy, equal to `json.loads(json.dumps(value, default=...))`. Plain JSON
    data (the bulk of instance variables) is copied directly, which takes half the time of that
    round trip; anything else goes through the round trip, so every edge case (non-text keys,
    subclasses, cycles, huge numbers) comes out exactly as the round trip makes it.
    """
    try:
        return _plain_copy(value, 0)
    except _TooDeep:  # the round trip's own recursion handling decides, as it always did
        return _round_trip(value)


_JSON_SCALARS = frozenset({str, float, bool, type(None)})
_TEXT = frozenset({str})
_MAX_PLAIN_DEPTH = 100
_MAX_PLAIN_INT_BITS = 4096  # far below the digit limit of int -> text conversion, which the round trip keeps


class _TooDeep(Exception):
    """Data nested deeper than `_MAX_PLAIN_DEPTH`: left to the round trip."""


def _plain_copy(value: Any, depth: int) -> Any:
    kind = type(value)
    if kind in _JSON_SCALARS or (kind is int and value.bit_length() <= _MAX_PLAIN_INT_BITS):
        return value
    if depth >= _MAX_PLAIN_DEPTH:
        raise _TooDeep
    deeper = depth + 1
    # Scalars are kept inline, without a call: this copies every instance variable on every step.
    if kind is dict:
        if not set(map(type, value)) <= _TEXT:  # other keys become text, and may then collide
            return _round_trip(value)
        return {key: item if type(item) in _JSON_SCALARS else _plain_copy(item, deeper)
                for key, item in value.items()}
    if kind is list or kind is tuple:
        return [item if type(item) in _JSON_SCALARS else _plain_copy(item, deeper) for item in value]
    return _round_trip(value)


def _round_trip(value: Any) -> Any:
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    return str(value)
