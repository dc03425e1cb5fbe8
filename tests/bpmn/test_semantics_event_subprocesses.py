"""Innermost handler first (BPMN 2.0.2 10.3.5, 10.5.6): an error or escalation goes to the innermost
enclosing scope that can catch it, an event sub-process of a sub-process before a boundary event of an
outer activity."""

from __future__ import annotations

import pytest

from bpmn import Engine, validate
from bpmn.types import ModelSource
from tests.bpmn.xml import chain, model, script

START = '<bpmn:startEvent id="start"/>'
ERRORS = '<bpmn:error id="err" errorCode="E1"/>\n<bpmn:error id="other" errorCode="E2"/>\n'
ESCALATIONS = '<bpmn:escalation id="esc" escalationCode="X1"/>\n'
ERROR_DEF = '<bpmn:errorEventDefinition errorRef="err"/>'
ESCALATION_DEF = '<bpmn:escalationEventDefinition escalationRef="esc"/>'


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


def _event_sub_process(definition: str, *, interrupting: bool = True, prefix: str = "inner") -> str:
    flag = "" if interrupting else ' isInterrupting="false"'
    return f"""<bpmn:subProcess id="{prefix}_handler" triggeredByEvent="true">
  <bpmn:startEvent id="{prefix}_h_start"{flag}>{definition}</bpmn:startEvent>
  {script(f"{prefix}_handle", f"{prefix}_handled = True")}<bpmn:endEvent id="{prefix}_h_end"/>
  {chain(f"{prefix}_h_start", f"{prefix}_handle", f"{prefix}_h_end")}
</bpmn:subProcess>"""


def _with_outer_boundary(sub: str, definition: str, *, attached_to: str = "sub", extra: str = ERRORS) -> ModelSource:
    """`sub` (a sub-process element with id `attached_to`'s scope) in a process whose activity
    `attached_to` has a boundary event of `definition`; the boundary path sets `boundary_taken`."""
    return model(f"""{START}{sub}
<bpmn:boundaryEvent id="outer_boundary" attachedToRef="{attached_to}">{definition}</bpmn:boundaryEvent>
{script("after_boundary", "boundary_taken = True")}<bpmn:endEvent id="end_boundary"/>
<bpmn:endEvent id="end"/>
{chain("start", attached_to, "end")}{chain("outer_boundary", "after_boundary", "end_boundary")}""", extra=extra)


def _sub_throwing(thrower: str, handler: str, *, sub_id: str = "sub") -> str:
    """A sub-process whose path runs `thrower` (an element with id `throw`) and then `after_throw`."""
    return f"""<bpmn:subProcess id="{sub_id}">
  <bpmn:startEvent id="{sub_id}_start"/>{thrower}
  {script(f"{sub_id}_after_throw", "after_throw = True")}<bpmn:endEvent id="{sub_id}_end"/>
  {chain(f"{sub_id}_start", "throw", f"{sub_id}_after_throw", f"{sub_id}_end")}
  {handler}
</bpmn:subProcess>"""


SCRIPT_ERROR = script("throw", 'raise_bpmn_error("E1")')
ESCALATION_THROW = f'<bpmn:intermediateThrowEvent id="throw">{ESCALATION_DEF}</bpmn:intermediateThrowEvent>'


def _error_end_sub(handler: str) -> str:
    return f"""<bpmn:subProcess id="sub">
  <bpmn:startEvent id="sub_start"/><bpmn:endEvent id="throw">{ERROR_DEF}</bpmn:endEvent>
  {chain("sub_start", "throw")}
  {handler}
</bpmn:subProcess>"""


def _assert_valid(source: ModelSource) -> None:
    report = validate(source)
    assert report.ok, [p.as_dict() for p in report.errors]


def test_event_sub_process_of_a_sub_process_catches_a_script_error_before_its_boundary_event(
        engine: Engine) -> None:
    source = _with_outer_boundary(_sub_throwing(SCRIPT_ERROR, _event_sub_process(ERROR_DEF)), ERROR_DEF)
    _assert_valid(source)
    result = engine.start(source)
    assert result.status == "completed"
    assert result.variables.get("inner_handled") is True
    assert "boundary_taken" not in result.variables
    assert "end" in result.completed_activities and "after_boundary" not in result.completed_activities


def test_event_sub_process_of_a_sub_process_catches_an_error_end_event_before_its_boundary_event(
        engine: Engine) -> None:
    source = _with_outer_boundary(_error_end_sub(_event_sub_process(ERROR_DEF)), ERROR_DEF)
    _assert_valid(source)
    result = engine.start(source)
    assert result.status == "completed"
    assert result.variables.get("inner_handled") is True
    assert "after_boundary" not in result.completed_activities
    assert "end" in result.completed_activities


def test_interrupting_escalation_event_sub_process_catches_before_the_boundary_event(engine: Engine) -> None:
    sub = _sub_throwing(ESCALATION_THROW, _event_sub_process(ESCALATION_DEF))
    source = _with_outer_boundary(sub, ESCALATION_DEF, extra=ESCALATIONS)
    _assert_valid(source)
    result = engine.start(source)
    assert result.status == "completed"
    assert result.variables.get("inner_handled") is True
    assert "after_throw" not in result.variables  # the event sub-process interrupted the sub-process
    assert "after_boundary" not in result.completed_activities


def test_non_interrupting_escalation_event_sub_process_catches_and_its_scope_runs_on(engine: Engine) -> None:
    sub = _sub_throwing(ESCALATION_THROW, _event_sub_process(ESCALATION_DEF, interrupting=False))
    source = _with_outer_boundary(sub, ESCALATION_DEF, extra=ESCALATIONS)
    _assert_valid(source)
    result = engine.start(source)
    assert result.status == "completed"
    assert result.variables.get("inner_handled") is True and result.variables.get("after_throw") is True
    assert {"inner_handle", "sub_after_throw", "end"} <= set(result.completed_activities)
    assert "after_boundary" not in result.completed_activities


def test_event_sub_process_of_an_inner_sub_process_catches_before_a_boundary_event_of_an_enclosing_one(
        engine: Engine) -> None:
    inner = _sub_throwing(SCRIPT_ERROR, _event_sub_process(ERROR_DEF), sub_id="inner_sub")
    outer = f"""<bpmn:subProcess id="outer_sub">
  <bpmn:startEvent id="o_start"/>{inner}<bpmn:endEvent id="o_end"/>{chain("o_start", "inner_sub", "o_end")}
</bpmn:subProcess>"""
    source = _with_outer_boundary(outer, ERROR_DEF, attached_to="outer_sub")
    _assert_valid(source)
    result = engine.start(source)
    assert result.status == "completed"
    assert result.variables.get("inner_handled") is True
    assert "after_boundary" not in result.completed_activities
    assert {"o_end", "end"} <= set(result.completed_activities)


def test_boundary_event_of_an_inner_sub_process_catches_before_an_event_sub_process_of_the_outer_one(
        engine: Engine) -> None:
    inner = f"""<bpmn:subProcess id="inner_sub">
  <bpmn:startEvent id="i_start"/>{SCRIPT_ERROR}<bpmn:endEvent id="i_end"/>{chain("i_start", "throw", "i_end")}
</bpmn:subProcess>
<bpmn:boundaryEvent id="inner_boundary" attachedToRef="inner_sub">{ERROR_DEF}</bpmn:boundaryEvent>
{script("after_inner_boundary", "inner_boundary_taken = True")}"""
    outer = f"""<bpmn:subProcess id="sub">
  <bpmn:startEvent id="o_start"/>{inner}<bpmn:endEvent id="o_end"/>
  {chain("o_start", "inner_sub", "o_end")}{chain("inner_boundary", "after_inner_boundary", "o_end")}
  {_event_sub_process(ERROR_DEF, prefix="outer")}
</bpmn:subProcess>"""
    source = _with_outer_boundary(outer, ERROR_DEF)
    _assert_valid(source)
    result = engine.start(source)
    assert result.status == "completed"
    assert result.variables.get("inner_boundary_taken") is True
    assert "outer_handled" not in result.variables and "boundary_taken" not in result.variables


def test_error_the_inner_event_sub_process_does_not_catch_reaches_the_outer_boundary_event(
        engine: Engine) -> None:
    handler = _event_sub_process('<bpmn:errorEventDefinition errorRef="other"/>')
    source = _with_outer_boundary(_sub_throwing(SCRIPT_ERROR, handler), ERROR_DEF)
    _assert_valid(source)
    result = engine.start(source)
    assert result.status == "completed"
    assert result.variables.get("boundary_taken") is True
    assert "inner_handled" not in result.variables and "after_throw" not in result.variables


def test_escalation_the_inner_event_sub_process_does_not_catch_reaches_the_outer_boundary_event(
        engine: Engine) -> None:
    other = '<bpmn:escalation id="esc2" escalationCode="X2"/>\n'
    handler = _event_sub_process('<bpmn:escalationEventDefinition escalationRef="esc2"/>', interrupting=False)
    source = _with_outer_boundary(_sub_throwing(ESCALATION_THROW, handler), ESCALATION_DEF,
                                  extra=ESCALATIONS + other)
    _assert_valid(source)
    result = engine.start(source)
    assert result.status == "completed"
    assert result.variables.get("boundary_taken") is True
    assert "inner_handled" not in result.variables


def test_error_end_event_is_not_caught_by_a_boundary_event_of_a_parallel_activity(engine: Engine) -> None:
    source = model(f"""{START}<bpmn:parallelGateway id="fork"/>
<bpmn:userTask id="other_branch"/><bpmn:endEvent id="other_end"/><bpmn:endEvent id="throw">{ERROR_DEF}</bpmn:endEvent>
<bpmn:boundaryEvent id="sibling_boundary" attachedToRef="other_branch">{ERROR_DEF}</bpmn:boundaryEvent>
{script("after_sibling", "sibling_taken = True")}<bpmn:endEvent id="sibling_end"/>
{chain("start", "fork", "other_branch", "other_end")}{chain("fork", "throw")}
{chain("sibling_boundary", "after_sibling", "sibling_end")}""", extra=ERRORS)
    _assert_valid(source)
    result = engine.start(source)
    assert result.status == "failed"
    assert [i.kind for i in result.incidents] == ["uncaught_error"]
    assert "after_sibling" not in result.completed_activities


def test_error_event_sub_process_for_the_code_wins_over_a_catch_all_one(engine: Engine) -> None:
    handlers = (_event_sub_process("<bpmn:errorEventDefinition/>", prefix="any")
                + _event_sub_process(ERROR_DEF, prefix="named"))
    source = _with_outer_boundary(_sub_throwing(SCRIPT_ERROR, handlers), ERROR_DEF)
    _assert_valid(source)
    result = engine.start(source)
    assert result.status == "completed"
    assert result.variables.get("named_handled") is True
    assert "any_handle" not in result.completed_activities and "after_boundary" not in result.completed_activities


def test_boundary_event_for_the_code_wins_over_a_catch_all_one(engine: Engine) -> None:
    source = model(f"""{START}{SCRIPT_ERROR}<bpmn:endEvent id="end"/>
<bpmn:boundaryEvent id="any_boundary" attachedToRef="throw"><bpmn:errorEventDefinition/></bpmn:boundaryEvent>
<bpmn:boundaryEvent id="named_boundary" attachedToRef="throw">{ERROR_DEF}</bpmn:boundaryEvent>
{script("after_any", "any_taken = True")}{script("after_named", "named_taken = True")}
<bpmn:endEvent id="end_any"/><bpmn:endEvent id="end_named"/>
{chain("start", "throw", "end")}{chain("any_boundary", "after_any", "end_any")}
{chain("named_boundary", "after_named", "end_named")}""", extra=ERRORS)
    _assert_valid(source)
    result = engine.start(source)
    assert result.status == "completed"
    assert result.variables.get("named_taken") is True
    assert "after_any" not in result.completed_activities


def test_error_thrown_by_an_error_event_sub_process_goes_to_the_enclosing_boundary_event(engine: Engine) -> None:
    rethrow = f"""<bpmn:subProcess id="rethrow" triggeredByEvent="true">
  <bpmn:startEvent id="r_start">{ERROR_DEF}</bpmn:startEvent>
  {script("r_handle", "handled_once = True")}<bpmn:endEvent id="r_end">{ERROR_DEF}</bpmn:endEvent>
  {chain("r_start", "r_handle", "r_end")}
</bpmn:subProcess>"""
    source = _with_outer_boundary(_sub_throwing(SCRIPT_ERROR, rethrow), ERROR_DEF)
    _assert_valid(source)
    result = engine.start(source)
    assert result.status == "completed"
    assert result.variables.get("boundary_taken") is True
    assert result.completed_activities.count("r_handle") == 1


def test_service_task_error_resumed_from_a_snapshot_goes_to_the_event_sub_process_of_its_sub_process(
        engine: Engine) -> None:
    service = """<bpmn:serviceTask id="throw"><bpmn:extensionElements>
  <spiffworkflow:serviceTaskOperator id="core.echo" resultVariable="echoed"><spiffworkflow:parameters>
    <spiffworkflow:parameter id="value" type="int" value="1"/>
  </spiffworkflow:parameters></spiffworkflow:serviceTaskOperator>
</bpmn:extensionElements></bpmn:serviceTask>"""
    source = _with_outer_boundary(_sub_throwing(service, _event_sub_process(ERROR_DEF)), ERROR_DEF)
    _assert_valid(source)
    started = engine.start(source)
    [call] = started.service_calls
    failed = engine.fail_service_task(source, started.snapshot, call_id=call.id, error_code="E1")
    assert failed.status == "completed"
    assert failed.variables.get("inner_handled") is True
    assert "after_boundary" not in failed.completed_activities and "after_throw" not in failed.variables
