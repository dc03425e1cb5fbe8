"""Compensation (SpiffWorkflow 3.2.0 parses no compensateEventDefinition and no handlers)."""

from __future__ import annotations

from bpmn import Engine, validate
from tests.bpmn.xml import chain, flow, model, script

START = '<bpmn:startEvent id="start"/>'
END = '<bpmn:endEvent id="end"/>'


def _compensable(task_id: str, handler: str, handler_body: str) -> str:
    return (f'{script(task_id, f"booked = booked + [{task_id!r}]")}'
            f'<bpmn:boundaryEvent id="{task_id}_undo" attachedToRef="{task_id}"><bpmn:compensateEventDefinition/>'
            f'</bpmn:boundaryEvent>{handler_body}'
            f'<bpmn:association id="{task_id}_link" sourceRef="{task_id}_undo" targetRef="{handler}"/>')


def _handler_script(handler: str, name: str) -> str:
    return (f'<bpmn:scriptTask id="{handler}" isForCompensation="true"><bpmn:script>undone = undone + [{name!r}]'
            '</bpmn:script></bpmn:scriptTask>')


def _two_bookings(throw: str) -> str:
    return f"""{START}{_compensable("book_a", "undo_a", _handler_script("undo_a", "a"))}
{_compensable("book_b", "undo_b", '<bpmn:userTask id="undo_b" isForCompensation="true"/>')}
<bpmn:userTask id="decide"/>{throw}{script("after", "finished = True")}{END}
{chain("start", "book_a", "book_b", "decide", "undo_all", "after", "end")}"""


def test_compensation_runs_handlers_in_reverse_order_and_waits_for_them() -> None:
    throw = '<bpmn:intermediateThrowEvent id="undo_all"><bpmn:compensateEventDefinition/></bpmn:intermediateThrowEvent>'
    source = model(_two_bookings(throw))
    assert validate(source).errors == ()
    started = Engine().start(source, variables={"booked": [], "undone": []})
    (decide,) = started.work_items_opened
    decided = Engine().complete_work_item(source, started.snapshot, work_item_id=decide.id)
    # book_b completed last, so its handler (a user task) runs first; the throw event waits for it.
    assert [w.activity_id for w in decided.work_items_opened] == ["undo_b"]
    assert "after" not in decided.completed_activities and "undo_a" not in decided.completed_activities
    (undo_b,) = decided.work_items_opened
    done = Engine().complete_work_item(source, decided.snapshot, work_item_id=undo_b.id, variables={"b_undone": True})
    assert done.status == "completed"
    assert done.completed_activities.index("undo_a") < done.completed_activities.index("after")
    assert done.variables["undone"] == ["a"] and done.variables["b_undone"] is True


def test_activity_ref_compensates_only_that_activity() -> None:
    throw = ('<bpmn:intermediateThrowEvent id="undo_all"><bpmn:compensateEventDefinition activityRef="book_a"/>'
             '</bpmn:intermediateThrowEvent>')
    source = model(_two_bookings(throw))
    started = Engine().start(source, variables={"booked": [], "undone": []})
    (decide,) = started.work_items_opened
    done = Engine().complete_work_item(source, started.snapshot, work_item_id=decide.id)
    assert done.status == "completed"
    assert done.variables["undone"] == ["a"]
    assert "undo_b" not in done.completed_activities


def test_only_completed_activities_are_compensated() -> None:
    source = model(f"""{START}<bpmn:exclusiveGateway id="choose" default="f_skip"/>
{_compensable("book_a", "undo_a", _handler_script("undo_a", "a"))}
{_compensable("book_b", "undo_b", _handler_script("undo_b", "b"))}<bpmn:exclusiveGateway id="merge"/>
<bpmn:endEvent id="end"><bpmn:compensateEventDefinition/></bpmn:endEvent>
{chain("start", "book_a", "choose")}{flow("f_b", "choose", "book_b", "take_b")}{flow("f_skip", "choose", "merge")}
{chain("book_b", "merge", "end")}""")
    assert validate(source).errors == ()
    skipped = Engine().start(source, variables={"booked": [], "undone": [], "take_b": False})
    assert skipped.status == "completed"
    assert "undo_a" in skipped.completed_activities and "undo_b" not in skipped.completed_activities
    both = Engine().start(source, variables={"booked": [], "undone": [], "take_b": True})
    assert both.completed_activities.index("undo_b") < both.completed_activities.index("undo_a")


def test_cancel_end_event_compensates_the_transaction_then_takes_the_cancel_path() -> None:
    source = model(f"""{START}<bpmn:transaction id="payment">
<bpmn:startEvent id="t_start"/>{_compensable("book_a", "undo_a", _handler_script("undo_a", "a"))}
<bpmn:endEvent id="t_cancel"><bpmn:cancelEventDefinition/></bpmn:endEvent>
{chain("t_start", "book_a", "t_cancel")}</bpmn:transaction>
<bpmn:boundaryEvent id="on_cancel" attachedToRef="payment"><bpmn:cancelEventDefinition/></bpmn:boundaryEvent>
{script("cancelled", "was_cancelled = True")}<bpmn:endEvent id="end_cancelled"/>{script("paid", "x = 1")}{END}
{chain("start", "payment", "paid", "end")}{chain("on_cancel", "cancelled", "end_cancelled")}""")
    assert validate(source).errors == ()
    result = Engine().start(source, variables={"booked": [], "undone": []})
    assert result.status == "completed"
    assert "undo_a" in result.completed_activities and "cancelled" in result.completed_activities
    assert result.completed_activities.index("undo_a") < result.completed_activities.index("cancelled")
    assert "paid" not in result.completed_activities


# --- compensation event sub-processes (BPMN 10.3.5) ---------------------------------------------

_COMPENSATE = "<bpmn:compensateEventDefinition/>"


def _booking_with_event_handler(handler_steps: str, handler_chain: tuple[str, ...], *, interrupting: str = "") -> str:
    """Sub-process `booking` (a compensable script) whose compensation event sub-process runs `handler_steps`."""
    handler = (f'<bpmn:subProcess id="undo_booking" triggeredByEvent="true">'
               f'<bpmn:startEvent id="undo_start"{interrupting}>{_COMPENSATE}</bpmn:startEvent>{handler_steps}'
               f'<bpmn:intermediateThrowEvent id="undo_inner">{_COMPENSATE}</bpmn:intermediateThrowEvent>'
               f'<bpmn:endEvent id="undo_end"/>{chain("undo_start", *handler_chain, "undo_inner", "undo_end")}'
               '</bpmn:subProcess>')
    inner = (f'<bpmn:startEvent id="booking_start"/>{_compensable("book", "unbook", _handler_script("unbook", "book"))}'
             f'<bpmn:endEvent id="booking_end"/>{chain("booking_start", "book", "booking_end")}{handler}')
    throw = f'<bpmn:intermediateThrowEvent id="undo_all">{_COMPENSATE}</bpmn:intermediateThrowEvent>'
    flows = chain("start", "booking", "decide", "undo_all", "after", "end")
    return (f'{START}<bpmn:subProcess id="booking">{inner}</bpmn:subProcess><bpmn:userTask id="decide"/>{throw}'
            f'{script("after", "finished = True")}{END}{flows}')


def test_compensating_a_sub_process_runs_its_compensation_event_sub_process_in_its_scope() -> None:
    source = model(_booking_with_event_handler(script("note", "noted = booked"), ("note",)))
    assert validate(source).errors == ()
    started = Engine().start(source, variables={"booked": [], "undone": []})
    # The compensation event sub-process does not run when the sub-process runs, only when compensated.
    assert "note" not in started.completed_activities and "unbook" not in started.completed_activities
    (decide,) = started.work_items_opened
    done = Engine().complete_work_item(source, started.snapshot, work_item_id=decide.id)
    assert done.status == "completed"
    # Its throw event compensates `book`, an activity of the compensated sub-process, not of the handler.
    assert done.variables["undone"] == ["book"] and done.variables["noted"] == ["book"]
    order = done.completed_activities
    assert order.index("note") < order.index("unbook") < order.index("after")


def test_the_throw_event_waits_for_a_compensation_event_sub_process_across_steps() -> None:
    source = model(_booking_with_event_handler('<bpmn:userTask id="confirm_undo"/>', ("confirm_undo",)))
    started = Engine().start(source, variables={"booked": [], "undone": []})
    (decide,) = started.work_items_opened
    waiting = Engine().complete_work_item(source, started.snapshot, work_item_id=decide.id)
    assert waiting.status != "completed"
    assert [w.activity_id for w in waiting.work_items_opened] == ["confirm_undo"]
    assert "after" not in waiting.completed_activities and "unbook" not in waiting.completed_activities
    (confirm,) = waiting.work_items_opened
    done = Engine().complete_work_item(source, waiting.snapshot, work_item_id=confirm.id)
    assert done.status == "completed"
    assert done.variables["undone"] == ["book"] and done.variables["finished"] is True


def test_a_compensation_start_event_must_be_interrupting() -> None:
    body = _booking_with_event_handler(script("note", "noted = 1"), ("note",), interrupting=' isInterrupting="false"')
    codes = {p.code for p in validate(model(body)).errors}
    assert "bpmn_rule_ext059" in codes
