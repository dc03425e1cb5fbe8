"""Models saved by Camunda 7, Camunda 8 and SpiffArena modelers run through the engine unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from bpmn import Engine, validate
from bpmn.dialects.expressions import UnsupportedExpression, feel_to_expression, juel_to_expression
from bpmn.types import ModelSource

MODELS = Path(__file__).parent / "models" / "dialects"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


def load(name: str) -> ModelSource:
    return ModelSource(filename=name, content=(MODELS / name).read_bytes())


@pytest.mark.parametrize(("text", "expected"), [
    ('${a > 5 && b == "x"}', 'a > 5 and b == "x"'),
    ("${!approved || order.total >= 100.5}", "not approved or order['total'] >= 100.5"),
    ("#{count mod 2 eq 0}", "count % 2 == 0"),
    ("${x != null}", "x != None"),
])
def test_juel_subset_translates(text: str, expected: str) -> None:
    assert juel_to_expression(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ('= a > 5 and b = "x"', 'a > 5 and b == "x"'),
    ("=not(done) or total * 2 <= 10", "not ( done ) or total * 2 <= 10"),
    ("=order.kind != null", "order['kind'] != None"),
])
def test_feel_subset_translates(text: str, expected: str) -> None:
    assert feel_to_expression(text) == expected


@pytest.mark.parametrize("text", ['${x.contains("a")}', "${empty x}", "${a = 1}"])
def test_juel_outside_the_subset_is_refused(text: str) -> None:
    with pytest.raises(UnsupportedExpression):
        juel_to_expression(text)


@pytest.mark.parametrize("text", ["=sum(items)", "=a && b", "=for x in y return x"])
def test_feel_outside_the_subset_is_refused(text: str) -> None:
    with pytest.raises(UnsupportedExpression):
        feel_to_expression(text)


@pytest.mark.parametrize("name", ["camunda7_order.bpmn", "camunda8_order.bpmn", "spiffarena_order.bpmn"])
def test_modeler_models_validate(name: str) -> None:
    report = validate(load(name))
    assert report.errors == ()


@pytest.mark.parametrize("name", ["camunda7_order.bpmn", "camunda8_order.bpmn", "spiffarena_order.bpmn"])
def test_modeler_models_run_end_to_end(engine: Engine, name: str) -> None:
    source = load(name)
    order = {"customer": "c-1", "kind": "retail", "total": 40}
    started = engine.start(source, variables={"order": order})
    [call] = started.service_calls
    assert call.operation == "credit.check"
    assert call.parameters["customer"] == "c-1"

    resumed = engine.resume_service_task(source, started.snapshot, call_id=call.id, result={"score": 9})
    assert resumed.variables["score"] == 9
    [item] = resumed.work_items_opened
    assert item.activity_id == "approve"
    if "camunda8" in name or "spiffarena" in name:
        assert item.properties["candidateGroups"] == "sales"

    done = engine.complete_work_item(source, resumed.snapshot, work_item_id=item.id, variables={"approved": True})
    assert done.status == "completed"
    assert done.variables["review_total"] == 80
    assert "approved_end" in done.completed_activities


@pytest.mark.parametrize("name", ["camunda7_order.bpmn", "camunda8_order.bpmn"])
def test_translated_condition_chooses_the_default_path(engine: Engine, name: str) -> None:
    source = load(name)
    started = engine.start(source, variables={"order": {"customer": "c", "kind": "retail", "total": 1}})
    resumed = engine.resume_service_task(source, started.snapshot, call_id=started.service_calls[0].id,
                                         result={"score": 2})
    assert resumed.status == "completed"
    assert "rejected" in resumed.completed_activities


def test_camunda7_external_task_maps_input_parameters(engine: Engine) -> None:
    started = engine.start(load("camunda7_order.bpmn"), variables={"order": {"customer": "c-9"}})
    assert started.service_calls[0].parameters == {"customer": "c-9", "channel": "web"}


CAMUNDA7_UNSUPPORTED = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://x">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="java" />
    <bpmn:serviceTask id="java" camunda:class="com.example.Delegate" />
    <bpmn:sequenceFlow id="f2" sourceRef="java" targetRef="groovy" />
    <bpmn:scriptTask id="groovy" scriptFormat="groovy"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="groovy" targetRef="gw" />
    <bpmn:exclusiveGateway id="gw" default="f5" />
    <bpmn:sequenceFlow id="f4" sourceRef="gw" targetRef="end">
      <bpmn:conditionExpression>${order.contains("x")}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f5" sourceRef="gw" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_what_does_not_map_is_reported_by_element() -> None:
    report = validate(ModelSource("c7.bpmn", CAMUNDA7_UNSUPPORTED.encode()))
    found = {(p.code, p.element_id) for p in report.problems}
    assert ("unsupported_dialect_feature", "java") in found
    assert ("unsupported_dialect_feature", "groovy") in found
    assert ("unsupported_dialect_feature", "f4") in found
    assert not report.ok


def test_unknown_feel_function_is_reported() -> None:
    xml = (MODELS / "camunda8_order.bpmn").read_text().replace(
        '=score &gt; 5 and order.kind = "retail"', "=matches(order.kind, \"r.*\")")
    report = validate(ModelSource("c8.bpmn", xml.encode()))
    assert ("unsupported_dialect_feature", "flow_approved") in {(p.code, p.element_id) for p in report.problems}
