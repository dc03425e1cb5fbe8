"""Snapshots keep SpiffWorkflow's format exactly, although `bpmn.snapshot` converts task maps itself.

The reference here is SpiffWorkflow's own converters (`mapping_to_dict`/`mapping_from_dict` with
its `TaskConverter`), wired as `bpmn.snapshot` wired them before it converted task maps itself:
every snapshot must be byte for byte what they write, and anything they wrote (every snapshot in a
database) must restore to the same workflow.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnSubWorkflowConverter,
    BpmnWorkflowConverter,
    WorkflowConverter,
)
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from bpmn import Engine, snapshot
from bpmn.types import ModelSource
from bpmn.workflow import PatchbaySubWorkflow, PatchbayWorkflow
from tests.bpmn.xml import chain, echo_task, model, script

START = '<bpmn:startEvent id="start"/>'
END = '<bpmn:endEvent id="end"/>'


PARALLEL = model(f"""
{START}
<bpmn:parallelGateway id="split"/>
<bpmn:userTask id="check_credit"/>
{echo_task("reserve", "reserved")}
{script("note", "noted = {'when': when, 'tags': {'a', 'b'}}")}
<bpmn:parallelGateway id="join"/>
{END}
{chain("start", "split", "check_credit", "join", "end")}
{chain("split", "reserve", "join")}
{chain("split", "note", "join")}
""")

SUBPROCESS = model(f"""
{START}
<bpmn:subProcess id="prepare">
  <bpmn:startEvent id="sub_start"/>
  {script("sub_work", "prepared = amount + 1")}
  <bpmn:userTask id="sub_review"/>
  <bpmn:endEvent id="sub_end"/>
  {chain("sub_start", "sub_work", "sub_review", "sub_end")}
</bpmn:subProcess>
<bpmn:boundaryEvent id="late" attachedToRef="prepare" cancelActivity="false">
  <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
</bpmn:boundaryEvent>
<bpmn:endEvent id="late_end"/>
{END}
{chain("start", "prepare", "end")}
{chain("late", "late_end")}
""")

VARIABLES = {"amount": 7, "when": date(2026, 1, 2), "price": Decimal("9.99"), "at": datetime(2026, 1, 2, 3, 4),
             "nested": {"list": [1, "two", {"three": 3.0}], "none": None}}


def _reference_serializer() -> BpmnWorkflowSerializer:
    """`bpmn.snapshot`'s serializer as it was wired before it converted task maps itself."""

    class Specless(BpmnWorkflowConverter):
        def to_dict(self, workflow: Any) -> dict[str, Any]:
            dct: dict[str, Any] = WorkflowConverter.to_dict(self, workflow)
            dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
            return dct

        def from_dict(self, dct: dict[str, Any], spec: Any = None, subprocess_specs: Any = None) -> Any:
            workflow = self.target_class(spec, subprocess_specs, deserializing=True)
            workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
            workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
            self.set_default_attributes(workflow, dct)
            self.subprocesses_from_dict(dct["subprocesses"], workflow)
            workflow.bpmn_events = []
            return workflow

    config = dict(SPIFF_CONFIG)
    config[PatchbayWorkflow] = Specless
    config[PatchbaySubWorkflow] = BpmnSubWorkflowConverter
    registry = BpmnWorkflowSerializer.configure(config, registry=snapshot._InPlaceRegistry())
    ours = snapshot._SERIALIZER.registry
    for kind in (Decimal, date, time, set, frozenset):
        name = ours.typenames[kind]
        registry.typenames[kind] = name
        registry.convert_to_dict[name] = ours.convert_to_dict[name]
        registry.convert_from_dict[name] = ours.convert_from_dict[name]
    return BpmnWorkflowSerializer(registry=registry)


REFERENCE = _reference_serializer()


def _reference_dump(workflow: Any) -> str:
    registry = REFERENCE.registry
    registry._encoder_mode = True
    try:
        dct = registry.convert(workflow)
        dct[snapshot.VERSION_KEY] = 1
        return json.dumps(dct, cls=REFERENCE._encoder_cls, separators=(",", ":"))
    finally:
        registry._encoder_mode = False


def _reference_load(text: str, compiled: Any) -> Any:
    dct = json.loads(text)
    dct.pop(snapshot.VERSION_KEY, None)
    return REFERENCE.registry.restore(dct, spec=compiled.spec, subprocess_specs=compiled.subprocess_specs)


def _state(workflow: Any) -> list[Any]:
    """Everything a restored workflow holds, object addresses left out."""
    def scope(w: Any) -> Any:
        tasks = [(key, t.id, t._parent, t._children, t.state, t.task_spec.name, t.triggered, t.last_state_change,
                  re.sub(r" at 0x[0-9a-f]+", "", repr((t.internal_data, t.data)))) for key, t in w.tasks.items()]
        return tasks, w.task_tree.id, w.last_task.id if w.last_task else None, w.data, w.success, w.completed
    return [scope(workflow), {key: scope(sub) for key, sub in workflow.subprocesses.items()},
            sorted(map(str, workflow.event_manager.tasks))]


def _snapshots(engine: Engine, source: ModelSource) -> list[str]:
    """The snapshots of an instance at each wait state, completing work items and calls one at a time."""
    result = engine.start(source, variables=dict(VARIABLES))
    found, items = [result.snapshot], [w.id for w in result.work_items_opened]
    while result.status == "waiting" and (items or result.service_calls):
        if result.service_calls:
            call = result.service_calls[0]
            result = engine.resume_service_task(source, result.snapshot, call_id=call.id, result={"ok": True})
        else:
            result = engine.complete_work_item(source, result.snapshot, work_item_id=items[0],
                                               variables={"approved": True, "on": date(2026, 2, 3)})
        items = [i for i in items if i not in result.work_items_closed] + [w.id for w in result.work_items_opened]
        found.append(result.snapshot)
    return found


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


@pytest.mark.parametrize("source", [PARALLEL, SUBPROCESS], ids=["parallel", "subprocess"])
def test_snapshots_are_byte_for_byte_what_spiffworkflows_converters_write(engine: Engine,
                                                                          source: ModelSource) -> None:
    compiled = engine.specs.get(source)
    texts = _snapshots(engine, source)
    assert len(texts) >= 2
    for text in texts:
        workflow = engine._restore(compiled, text)
        assert snapshot.dump(workflow) == _reference_dump(workflow)


@pytest.mark.parametrize("source", [PARALLEL, SUBPROCESS], ids=["parallel", "subprocess"])
def test_snapshots_spiffworkflows_converters_wrote_restore_to_the_same_workflow(engine: Engine,
                                                                                source: ModelSource) -> None:
    compiled = engine.specs.get(source)
    for text in _snapshots(engine, source):
        stored = _reference_dump(_reference_load(text, compiled))
        ours = snapshot.load(stored, spec=compiled.spec, subprocess_specs=compiled.subprocess_specs)
        theirs = _reference_load(stored, compiled)
        assert _state(ours) == _state(theirs)
        assert _reference_dump(ours) == stored


def test_a_restored_task_shares_one_id_object_with_its_map_key_parent_and_children(engine: Engine) -> None:
    compiled = engine.specs.get(PARALLEL)
    workflow = engine._restore(compiled, _snapshots(engine, PARALLEL)[0])
    for key, task in workflow.tasks.items():
        assert task.id is key
        parent = workflow.tasks.get(task._parent)
        if parent is not None:
            assert task.id in parent._children
            assert any(child is task.id for child in parent._children)
