"""SpiffWorkflow event gaps closed in bpmn.semantics: script errors, signal ends, event sub-processes, interrupts."""

from __future__ import annotations

import pytest

from bpmn import Engine
from tests.bpmn.xml import chain, model, script

START = '<bpmn:startEvent id="start"/>'
END = '<bpmn:endEvent id="end"/>'
ERROR = '<bpmn:error id="err" errorCode="E1"/>\n'


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


def test_script_error_is_caught_by_a_boundary_event(engine: Engine) -> None:
    source = model(f"""{START}{script("risky", 'raise_bpmn_error("E1", "no stock")')}
<bpmn:boundaryEvent id="on_error" attachedToRef="risky"><bpmn:errorEventDefinition errorRef="err"/></bpmn:boundaryEvent>
{script("recover", "recovered = True")}{script("normal", "normal = True")}{END}<bpmn:endEvent id="end2"/>
{chain("start", "risky", "normal", "end")}{chain("on_error", "recover", "end2")}""", extra=ERROR)
    result = engine.start(source)
    assert result.status == "completed"
    assert result.variables.get("recovered") is True
    assert "normal" not in result.completed_activities


def test_uncaught_script_error_fails_the_instance(engine: Engine) -> None:
    source = model(f"""{START}{script("risky", 'raise_bpmn_error("E9")')}{END}{chain("start", "risky", "end")}""")
    result = engine.start(source)
    assert result.status == "failed"
    assert [i.kind for i in result.incidents] == ["uncaught_error"]
    assert result.incidents[0].activity_id == "risky"


ESP_IN_SUB = model(f"""{START}
<bpmn:subProcess id="sub">
  <bpmn:startEvent id="s_start"/>
  <bpmn:parallelGateway id="fork"/>
  <bpmn:userTask id="slow"/>
  {script("fail", 'raise_bpmn_error("E1")')}
  <bpmn:endEvent id="s_end"/><bpmn:endEvent id="s_end2"/>
  {chain("s_start", "fork", "slow", "s_end")}{chain("fork", "fail", "s_end2")}
  <bpmn:subProcess id="on_error" triggeredByEvent="true">
    <bpmn:startEvent id="e_start"><bpmn:errorEventDefinition errorRef="err"/></bpmn:startEvent>
    {script("handle", "handled = True")}<bpmn:endEvent id="e_end"/>
    {chain("e_start", "handle", "e_end")}
  </bpmn:subProcess>
</bpmn:subProcess>
{END}{chain("start", "sub", "end")}""", extra=ERROR)


def test_error_start_event_of_a_nested_event_sub_process_interrupts_its_scope(engine: Engine) -> None:
    result = engine.start(ESP_IN_SUB)
    assert result.status == "completed"
    assert result.variables.get("handled") is True
    assert "slow" not in result.active_activities and not result.work_items_opened
    assert "end" in result.completed_activities


def test_error_end_event_in_a_sub_process_cancels_its_other_tokens(engine: Engine) -> None:
    source = model(f"""{START}
<bpmn:subProcess id="sub">
  <bpmn:startEvent id="s_start"/><bpmn:parallelGateway id="fork"/>
  <bpmn:userTask id="slow"/>{script("other", "other = True")}
  <bpmn:endEvent id="s_end"/><bpmn:endEvent id="boom"><bpmn:errorEventDefinition errorRef="err"/></bpmn:endEvent>
  {chain("s_start", "fork", "slow", "s_end")}{chain("fork", "boom")}
</bpmn:subProcess>
<bpmn:boundaryEvent id="caught" attachedToRef="sub"><bpmn:errorEventDefinition errorRef="err"/></bpmn:boundaryEvent>
{script("handle", "handled = True")}{END}<bpmn:endEvent id="end_ok"/>
{chain("start", "sub", "end_ok")}{chain("caught", "handle", "end")}""", extra=ERROR)
    result = engine.start(source)
    assert result.status == "completed"
    assert result.variables.get("handled") is True
    assert not result.work_items_opened


def test_signal_end_event_is_thrown_and_caught_by_a_waiting_catcher(engine: Engine) -> None:
    signal = '<bpmn:signal id="sig" name="go"/>\n'
    source = model(f"""{START}<bpmn:parallelGateway id="fork"/>
<bpmn:intermediateCatchEvent id="wait"><bpmn:signalEventDefinition signalRef="sig"/></bpmn:intermediateCatchEvent>
{script("after", "heard = True")}<bpmn:endEvent id="end_wait"/>
<bpmn:endEvent id="shout"><bpmn:signalEventDefinition signalRef="sig"/></bpmn:endEvent>
{chain("start", "fork", "wait", "after", "end_wait")}{chain("fork", "shout")}""", extra=signal)
    result = engine.start(source)
    assert result.status == "completed"
    assert result.variables.get("heard") is True


def test_interrupting_signal_event_sub_process_stops_the_thrower_path(engine: Engine) -> None:
    signal = '<bpmn:signal id="sig" name="stop"/>\n'
    source = model(f"""{START}
<bpmn:subProcess id="sub">
  <bpmn:startEvent id="s_start"/>
  <bpmn:intermediateThrowEvent id="throw"><bpmn:signalEventDefinition signalRef="sig"/></bpmn:intermediateThrowEvent>
  {script("skipped", "skipped = True")}<bpmn:endEvent id="s_end"/>
  {chain("s_start", "throw", "skipped", "s_end")}
  <bpmn:subProcess id="esp" triggeredByEvent="true">
    <bpmn:startEvent id="e_start"><bpmn:signalEventDefinition signalRef="sig"/></bpmn:startEvent>
    {script("handle", "handled = True")}<bpmn:endEvent id="e_end"/>{chain("e_start", "handle", "e_end")}
  </bpmn:subProcess>
</bpmn:subProcess>{END}{chain("start", "sub", "end")}""", extra=signal)
    result = engine.start(source)
    assert result.status == "completed"
    assert result.variables.get("handled") is True
    assert "skipped" not in result.completed_activities


def test_boundary_error_from_a_script_round_trips_mid_way(engine: Engine) -> None:
    source = model(f"""{START}<bpmn:userTask id="ask"/>{script("risky", 'raise_bpmn_error("E1")')}
<bpmn:boundaryEvent id="on_error" attachedToRef="risky"><bpmn:errorEventDefinition errorRef="err"/></bpmn:boundaryEvent>
{script("recover", "recovered = True")}{END}<bpmn:endEvent id="end2"/>
{chain("start", "ask", "risky", "end")}{chain("on_error", "recover", "end2")}""", extra=ERROR)
    started = engine.start(source)
    [item] = started.work_items_opened
    done = engine.complete_work_item(source, started.snapshot, work_item_id=item.id)
    assert done.status == "completed"
    assert done.variables.get("recovered") is True
