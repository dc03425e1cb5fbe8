"""A message event sub-process waits for its message as long as its scope runs (Camunda, Flowable).

Its message start event is a subscription of the instance (`StepResult.subscriptions`) while the
process or sub-process holding it runs, correlated like an intermediate catch event (the
correlation property read from the scope's data), and `Engine.deliver_message` starts it. An
interrupting one ends the rest of its scope and subscribes no more; a non-interrupting one fires
again for every further message until its scope ends.
"""

from __future__ import annotations

import pytest

from bpmn import CommandRejected, Engine, StepResult, validate
from bpmn.types import ModelSource
from tests.bpmn.xml import HEADER, chain, correlated_message, script

PROCESS = "message_esp"
CORRELATION = correlated_message(PROCESS, "poke")
ON_POKE = '<bpmn:messageEventDefinition messageRef="poke"/>'


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


def _handler(code: str, *, interrupting: bool, review: bool = False) -> str:
    """Event sub-process `handler`, started by message `poke`, running script `code` (after its own
    user task `h_review` with `review`)."""
    flag = "" if interrupting else ' isInterrupting="false"'
    steps = ["h_start", "h_review", "h_script", "h_end"] if review else ["h_start", "h_script", "h_end"]
    review_task = '<bpmn:userTask id="h_review"/>' if review else ""
    return f"""<bpmn:subProcess id="handler" triggeredByEvent="true">
  <bpmn:startEvent id="h_start"{flag}>{ON_POKE}</bpmn:startEvent>{review_task}
  {script("h_script", code)}<bpmn:endEvent id="h_end"/>{chain(*steps)}
</bpmn:subProcess>"""


def _model(body: str) -> ModelSource:
    xml = (f'{HEADER}{CORRELATION}<bpmn:process id="{PROCESS}" isExecutable="true">\n{body}\n'
           "</bpmn:process>\n</bpmn:definitions>\n")
    source = ModelSource(filename=f"{PROCESS}.bpmn", content=xml.encode())
    report = validate(source)
    assert report.ok, [p.as_dict() for p in report.errors]
    return source


def _process(handler: str, *, before_work: str = "") -> ModelSource:
    """start -> [script `before` running `before_work`] -> user task `work` -> end, beside `handler`."""
    path = ["start", "before", "work", "end"] if before_work else ["start", "work", "end"]
    before = script("before", before_work) if before_work else ""
    return _model(f'<bpmn:startEvent id="start"/>{before}<bpmn:userTask id="work"/><bpmn:endEvent id="end"/>'
                  f"{chain(*path)}{handler}")


def _in_sub_process(handler: str) -> ModelSource:
    """Sub-process `sub` (user task `sub_work`, and `handler`), then user task `later`."""
    sub = f"""<bpmn:subProcess id="sub"><bpmn:startEvent id="s_start"/><bpmn:userTask id="sub_work"/>
  <bpmn:endEvent id="s_end"/>{chain("s_start", "sub_work", "s_end")}{handler}</bpmn:subProcess>"""
    return _model(f'<bpmn:startEvent id="start"/>{sub}<bpmn:userTask id="later"/><bpmn:endEvent id="end"/>'
                  f'{chain("start", "sub", "later", "end")}')


def _pokes(step: StepResult) -> list[tuple[str, str, dict[str, object]]]:
    return [(s.activity_id, s.name, s.correlation) for s in step.subscriptions]


def _item(step: StepResult, activity: str) -> str:
    return next(w.id for w in step.work_items_opened if w.activity_id == activity)


def _poke(engine: Engine, source: ModelSource, step: StepResult, order_id: str = "o-1",
          **variables: object) -> StepResult:
    return engine.deliver_message(source, step.snapshot, name="poke", correlation={"order_id": order_id},
                                  variables=variables)


# -- the subscription ---------------------------------------------------------------------------------


@pytest.mark.parametrize("interrupting", [True, False])
def test_message_start_of_an_event_sub_process_is_a_subscription_while_the_process_runs(
        engine: Engine, interrupting: bool) -> None:
    source = _process(_handler("handled = True", interrupting=interrupting))
    started = engine.start(source, variables={"order_id": "o-1"})
    assert _pokes(started) == [("h_start", "poke", {"order_id": "o-1"})]
    done = engine.complete_work_item(source, started.snapshot, work_item_id=_item(started, "work"))
    assert done.status == "completed"
    assert done.subscriptions == []


def test_message_start_in_a_sub_process_is_subscribed_only_while_the_sub_process_runs(engine: Engine) -> None:
    source = _in_sub_process(_handler("handled = True", interrupting=False))
    started = engine.start(source, variables={"order_id": "o-1"})
    assert _pokes(started) == [("h_start", "poke", {"order_id": "o-1"})]
    after_sub = engine.complete_work_item(source, started.snapshot, work_item_id=_item(started, "sub_work"))
    assert after_sub.active_activities == ["later"]
    assert after_sub.subscriptions == []
    with pytest.raises(CommandRejected) as refused:
        _poke(engine, source, after_sub)
    assert refused.value.code == "no_matching_subscription"


def test_message_for_another_correlation_does_not_start_the_event_sub_process(engine: Engine) -> None:
    source = _process(_handler("handled = True", interrupting=True))
    started = engine.start(source, variables={"order_id": "o-1"})
    with pytest.raises(CommandRejected) as refused:
        _poke(engine, source, started, order_id="o-2")
    assert refused.value.code == "no_matching_subscription"


# -- delivering ---------------------------------------------------------------------------------------


def test_interrupting_message_event_sub_process_ends_the_main_path(engine: Engine) -> None:
    source = _process(_handler("handled = True", interrupting=True))
    started = engine.start(source, variables={"order_id": "o-1"})
    fired = _poke(engine, source, started)
    assert fired.status == "completed", fired.incidents
    assert fired.work_items_closed == [_item(started, "work")]
    assert "h_script" in fired.completed_activities and "end" not in fired.completed_activities
    assert fired.variables["handled"] is True
    assert fired.subscriptions == []


def test_interrupted_scope_subscribes_no_more_while_its_handler_runs(engine: Engine) -> None:
    source = _process(_handler("handled = True", interrupting=True, review=True))
    started = engine.start(source, variables={"order_id": "o-1"})
    fired = _poke(engine, source, started)
    assert fired.active_activities == ["handler", "h_review"]
    assert fired.subscriptions == []
    with pytest.raises(CommandRejected):
        _poke(engine, source, fired)


def test_non_interrupting_message_event_sub_process_fires_for_every_message_while_the_scope_runs(
        engine: Engine) -> None:
    source = _process(_handler("handled = True", interrupting=False))
    started = engine.start(source, variables={"order_id": "o-1"})
    first = _poke(engine, source, started)
    assert first.active_activities == ["work"] and "h_script" in first.completed_activities
    assert _pokes(first) == [("h_start", "poke", {"order_id": "o-1"})]
    second = _poke(engine, source, first)
    assert second.completed_activities == ["h_start", "h_script", "h_end", "handler"]
    done = engine.complete_work_item(source, second.snapshot, work_item_id=_item(started, "work"))
    assert done.status == "completed", done.incidents
    assert done.variables["handled"] is True
    assert done.subscriptions == []


def test_message_event_sub_process_of_a_sub_process_interrupts_only_the_sub_process(engine: Engine) -> None:
    source = _in_sub_process(_handler("handled = True", interrupting=True))
    started = engine.start(source, variables={"order_id": "o-1"})
    fired = _poke(engine, source, started)
    assert fired.active_activities == ["later"], fired.incidents
    assert fired.work_items_closed == [_item(started, "sub_work")]
    assert fired.variables["handled"] is True
    assert fired.subscriptions == []
