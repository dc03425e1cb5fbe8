"""Multi-instance `behavior` events and completion-condition variables.

SpiffWorkflow 3.2.0 ignores `behavior`, `oneBehaviorEventRef`, `noneBehaviorEventRef` and
`complexBehaviorDefinition`, and evaluates `completionCondition` against the last instance's data only,
without BPMN's loop variables. Patchbay's multi-instance specs:
- throw the behavior events when an instance completes: `none`: the `noneBehaviorEventRef` event for
  every instance; `one`: the `oneBehaviorEventRef` event for the first one only; `all`: never;
  `complex`: the event of every `complexBehaviorDefinition` whose condition holds;
- deliver a behavior event to the activity's own boundary events that catch it (same kind and name).
  The boundary path starts once per event, and the activity is never interrupted by it: the event
  reports instance completion, it does not abort the activity;
- a `complex` definition whose condition holds is also a completion point: the remaining instances
  end and the activity completes (as betsy's reference expectations read `behavior="Complex"`);
- evaluate `completionCondition` and complex conditions with `nrOfInstances`,
  `nrOfCompletedInstances` and `nrOfActiveInstances` (and `loopCounter`) besides the instance's data;
  early completion of a parallel activity cancels the instances still running.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.spiff.specs.defaults import ParallelMultiInstanceTask, SequentialMultiInstanceTask
from SpiffWorkflow.util.task import TaskState

_COMPLEX_DONE = "patchbay_complex_done"
_EVENT_TAGS = {"signalEventDefinition": ("signal", "signalRef"), "messageEventDefinition": ("message", "messageRef"),
               "escalationEventDefinition": ("escalation", "escalationRef"),
               "errorEventDefinition": ("error", "errorRef")}


@dataclass(frozen=True)
class EventKey:
    """An event a behavior throws, as boundary events match it: kind and name (signal/message name, code)."""

    kind: str
    name: str | None


class BehaviorMixin:
    """What Patchbay adds to SpiffWorkflow's multi-instance specs (see the module docstring)."""

    behavior: str = "all"
    behavior_event: EventKey | None = None
    complex_behaviors: tuple[tuple[str, EventKey | None], ...] = ()

    def merge_child(self, workflow: Any, child: Any) -> None:
        my_task = child.parent
        context = loop_context(self, my_task, completed=len(my_task.internal_data.get("merged", [])) + 1)
        for event in self._events_for(my_task, child, context):
            throw_to_boundaries(my_task, event)
        super().merge_child(workflow, child)  # type: ignore[misc]

    def _events_for(self, my_task: Any, child: Any, context: dict[str, Any]) -> list[EventKey]:
        if self.behavior == "none" and self.behavior_event is not None:
            return [self.behavior_event]
        if self.behavior == "one" and self.behavior_event is not None and context["nrOfCompletedInstances"] == 1:
            return [self.behavior_event]
        if self.behavior != "complex":
            return []
        events = []
        engine = my_task.workflow.script_engine
        for condition, event in self.complex_behaviors:
            if engine.evaluate(child, condition, external_context=context):
                my_task.internal_data[_COMPLEX_DONE] = True
                events.extend([event] if event is not None else [])
        return events

    def check_completion_condition(self, my_task: Any) -> bool:
        if my_task.internal_data.get(_COMPLEX_DONE):
            return True
        merged = my_task.internal_data.get("merged", [])
        condition = getattr(self, "condition", None)
        if not merged or condition is None:
            return False
        last = next(c for c in my_task.children if str(c.id) == merged[-1])
        context = loop_context(self, my_task, completed=len(merged))
        return bool(my_task.workflow.script_engine.evaluate(last, condition, external_context=context))


def loop_context(spec: Any, my_task: Any, *, completed: int) -> dict[str, Any]:
    """BPMN's multi-instance variables for a completion (or complex behavior) condition."""
    instances = [c for c in my_task.children if c.task_spec.name == spec.task_spec]
    cardinality = my_task.internal_data.get("cardinality")
    remaining = my_task.internal_data.get("remaining")
    if cardinality is None and remaining is not None:
        cardinality = len(instances) + len(remaining)  # sequential over a collection
    total = cardinality if cardinality is not None else len(instances)
    active = sum(1 for c in instances if not c.has_state(TaskState.FINISHED_MASK))
    return {"nrOfInstances": total, "nrOfCompletedInstances": completed, "nrOfActiveInstances": active,
            "loopCounter": completed}


def throw_to_boundaries(my_task: Any, event: EventKey) -> None:
    """Start the path of every boundary event of the activity that catches `event`, without interrupting it."""
    split = my_task.parent
    if split is None:
        return
    for sibling in split.children:
        spec = sibling.task_spec
        if sibling is my_task or not hasattr(spec, "cancel_activity"):
            continue
        if event_key(spec.event_definition) != event:
            continue
        _fire(my_task, spec)


def _fire(my_task: Any, boundary: Any) -> None:
    # The event is recorded as a completed boundary event whose own outgoing path starts; the
    # boundary's join with the activity is left out (the activity was not interrupted).
    fired = my_task._add_child(boundary, TaskState.WAITING)
    fired.triggered = True
    fired._inherit_data()
    fired._set_state(TaskState.COMPLETED)
    for output in boundary.outputs:
        if not isinstance(output, BoundaryEventJoin):
            child = fired._add_child(output, TaskState.FUTURE)
            output._update(child)


def event_key(definition: Any) -> EventKey | None:
    """The kind and name of a SpiffWorkflow event definition (None for kinds behaviors never throw)."""
    kind = type(definition).__name__.removesuffix("EventDefinition").lower()
    if kind not in ("signal", "message", "escalation", "error"):
        return None
    name = getattr(definition, "code", None) if kind in ("escalation", "error") else definition.name
    return EventKey(kind, name)


def read_behavior(task: Any, characteristics: Any) -> None:
    """Set `behavior`, its event and complex definitions on a multi-instance spec from its XML."""
    task.behavior = (characteristics.get("behavior") or "all").lower()
    ref = characteristics.get(f"{task.behavior}BehaviorEventRef")
    if ref:
        task.behavior_event = _event_by_id(characteristics, ref)
    complex_behaviors = []
    for definition in _children(characteristics, "complexBehaviorDefinition"):
        condition = next((c.text or "" for c in _children(definition, "condition")), "").strip()
        thrown = [d for e in _children(definition, "event") for d in e if _local(d) in _EVENT_TAGS]
        complex_behaviors.append((condition or "False", _event_key_of(thrown[0]) if thrown else None))
    task.complex_behaviors = tuple(complex_behaviors)


def _local(element: Any) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(element: Any, name: str) -> list[Any]:
    return [c for c in element if _local(c) == name]


def _by_id(anchor: Any, element_id: str) -> Any:
    found = anchor.getroottree().xpath("//*[@id=$id]", id=element_id.rsplit(":", 1)[-1])
    return found[0] if found else None


def _event_by_id(anchor: Any, element_id: str) -> EventKey | None:
    definition = _by_id(anchor, element_id)
    return _event_key_of(definition) if definition is not None else None


def _event_key_of(definition: Any) -> EventKey | None:
    kind_ref = _EVENT_TAGS.get(_local(definition))
    if kind_ref is None:
        return None
    kind, ref_attribute = kind_ref
    ref = definition.get(ref_attribute)
    target = _by_id(definition, ref) if ref else None
    if target is None:
        return EventKey(kind, None)
    name_attribute = {"escalation": "escalationCode", "error": "errorCode"}.get(kind, "name")
    return EventKey(kind, target.get(name_attribute))


class PatchbaySequentialMultiInstance(BehaviorMixin, SequentialMultiInstanceTask):
    """A sequential multi-instance activity with behavior events and BPMN's loop variables."""


class PatchbayParallelMultiInstance(BehaviorMixin, ParallelMultiInstanceTask):
    """A parallel multi-instance activity with behavior events and BPMN's loop variables."""


class MultiInstanceParserMixin:
    """Mixed into every activity parser: Patchbay's multi-instance specs, with their behavior read."""

    SEQUENTIAL_MI_CLASS = PatchbaySequentialMultiInstance
    PARALLEL_MI_CLASS = PatchbayParallelMultiInstance

    def _add_multiinstance_task(self, loop_characteristics: Any) -> None:
        super()._add_multiinstance_task(loop_characteristics)  # type: ignore[misc]
        read_behavior(self.task, loop_characteristics)  # type: ignore[attr-defined]


def with_multi_instance(parser_class: type) -> type:
    """`parser_class` with `MultiInstanceParserMixin` mixed in."""
    return type(f"Patchbay{parser_class.__name__}", (MultiInstanceParserMixin, parser_class), {})


def connect_loop_children(specs: Any) -> None:
    """Connect every loop and multi-instance spec to the completion of its inner spec, at compile time.

    SpiffWorkflow 3.2.0 makes that connection when it creates the first instance, on the (shared)
    spec object. A snapshot restored onto a freshly compiled spec (another worker, an evicted cache)
    never had it: completing an instance no longer advanced the loop and the instance stalled.
    """
    for spec in specs:
        for task_spec in list(spec.task_specs.values()):
            if not isinstance(task_spec, LoopTask):
                continue
            inner = spec.task_specs.get(task_spec.task_spec)
            if inner is not None and not inner.completed_event.is_connected(task_spec.merge_child):
                inner.completed_event.connect(task_spec.merge_child)
