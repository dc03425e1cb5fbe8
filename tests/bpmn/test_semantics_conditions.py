"""Conditional events (`bpmn.semantics.conditions`): evaluated as scopes start and after every step."""

from __future__ import annotations

import pytest

from bpmn import Engine, validate
from tests.bpmn.xml import chain, model, script

START = '<bpmn:startEvent id="start"/>'
END = '<bpmn:endEvent id="end"/>'


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


def _condition(text: str) -> str:
    return f"<bpmn:conditionalEventDefinition><bpmn:condition>{text}</bpmn:condition></bpmn:conditionalEventDefinition>"


BOUNDARY = model(f"""{START}
<bpmn:subProcess id="sub"><bpmn:startEvent id="sub_start"/>{script("inner", "inner_ran = True")}
<bpmn:endEvent id="sub_end"/>{chain("sub_start", "inner", "sub_end")}</bpmn:subProcess>
<bpmn:boundaryEvent id="when_urgent" attachedToRef="sub">{_condition("urgent")}</bpmn:boundaryEvent>
{script("escalate", "escalated = True")}{script("after", "after = True")}{END}<bpmn:endEvent id="end2"/>
{chain("start", "sub", "after", "end")}{chain("when_urgent", "escalate", "end2")}""")


def test_an_interrupting_conditional_boundary_event_that_holds_at_once_stops_the_subprocess_first(
        engine: Engine) -> None:
    # SpiffWorkflow ran the whole sub-process before the boundary event's cancellation took effect.
    result = engine.start(BOUNDARY, variables={"urgent": True})
    assert result.status == "completed"
    assert result.variables.get("escalated") is True
    assert "inner" not in result.completed_activities and "after" not in result.completed_activities
    normal = engine.start(BOUNDARY, variables={"urgent": False})
    assert {"inner", "after"} <= set(normal.completed_activities)
    assert "escalate" not in normal.completed_activities


def _event_subprocess(interrupting: bool) -> str:
    flag = "true" if interrupting else "false"
    return f"""<bpmn:subProcess id="on_limit" triggeredByEvent="true">
<bpmn:startEvent id="limit_start" isInterrupting="{flag}">{_condition("amount &gt; 100")}</bpmn:startEvent>
{script("alert", "alerts = value_of('alerts', 0) + 1")}<bpmn:endEvent id="alert_end"/>
{chain("limit_start", "alert", "alert_end")}</bpmn:subProcess>"""


def _with_event_subprocess(interrupting: bool) -> object:
    return model(f"""{START}{_event_subprocess(interrupting)}
<bpmn:userTask id="review"/>{script("raise_amount", "amount = amount + 100")}<bpmn:userTask id="confirm"/>{END}
{chain("start", "review", "raise_amount", "confirm", "end")}""")


def test_an_interrupting_conditional_event_subprocess_fires_when_a_step_makes_it_true(engine: Engine) -> None:
    source = _with_event_subprocess(interrupting=True)
    assert validate(source).errors == ()
    waiting = engine.start(source, variables={"amount": 50})
    assert waiting.status == "waiting" and "alert" not in waiting.completed_activities
    # A snapshot round trip mid-way: the condition is re-evaluated on the restored instance.
    again = engine.inspect(source, waiting.snapshot)
    [item] = waiting.work_items_opened
    done = engine.complete_work_item(source, again.snapshot, work_item_id=item.id)
    assert done.status == "completed"
    assert done.variables["alerts"] == 1
    assert "confirm" not in done.completed_activities


def test_a_non_interrupting_conditional_event_subprocess_fires_once_while_the_condition_holds(
        engine: Engine) -> None:
    source = _with_event_subprocess(interrupting=False)
    waiting = engine.start(source, variables={"amount": 50})
    [item] = waiting.work_items_opened
    raised = engine.complete_work_item(source, waiting.snapshot, work_item_id=item.id)
    assert raised.status == "waiting"
    assert raised.variables["alerts"] == 1 and raised.active_activities == ["confirm"]
    [confirm] = raised.work_items_opened
    done = engine.complete_work_item(source, raised.snapshot, work_item_id=confirm.id)
    assert done.status == "completed"
    assert "alert" not in done.completed_activities  # the condition still holds: it does not fire again


def test_models_without_conditions_do_not_pay_for_them(engine: Engine) -> None:
    source = model(f"{START}{script('a', 'x = 1')}{END}{chain('start', 'a', 'end')}")
    assert engine.start(source).status == "completed"
