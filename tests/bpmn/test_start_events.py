"""Timer and message start events: describing them, firing them, and scheduling start timers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bpmn import CommandRejected, Engine, StartTrigger
from bpmn.timers import next_start_time
from tests.bpmn.xml import chain, model, script

MONTHLY = model(f"""
<bpmn:startEvent id="monthly">
  <bpmn:timerEventDefinition><bpmn:timeCycle>R/2026-01-01T06:00:00Z/P1M</bpmn:timeCycle></bpmn:timerEventDefinition>
</bpmn:startEvent>
{script("report", "reported = True")}
<bpmn:endEvent id="end"/>
{chain("monthly", "report", "end")}
""")

BY_MESSAGE = model(f"""
<bpmn:startEvent id="order_received"><bpmn:messageEventDefinition messageRef="new_order"/></bpmn:startEvent>
{script("accept", "accepted = order_id")}
<bpmn:endEvent id="end"/>
{chain("order_received", "accept", "end")}
""", extra='<bpmn:message id="new_order" name="new_order"/>\n')


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


def test_start_events_describe_timer_and_message_starts(engine: Engine) -> None:
    [timer] = engine.start_events(MONTHLY)
    assert (timer.activity_id, timer.kind, timer.timer_kind, timer.timer_text) == (
        "monthly", "timer", "cycle", "R/2026-01-01T06:00:00Z/P1M")
    [message] = engine.start_events(BY_MESSAGE)
    assert (message.activity_id, message.kind, message.message_name) == ("order_received", "message", "new_order")


def test_a_timer_started_instance_runs_once_past_its_start_event(engine: Engine) -> None:
    result = engine.start(MONTHLY, trigger=StartTrigger("timer", activity_id="monthly"))

    assert result.status == "completed"
    # A cycle start event completes once its single round has produced the token, hence the order.
    assert sorted(result.completed_activities) == ["end", "monthly", "report"]
    assert result.next_timer_at is None
    assert any(e.type == "timer_start.fired" for e in result.audit)


def test_a_message_started_instance_gets_the_message_variables(engine: Engine) -> None:
    result = engine.start(BY_MESSAGE, variables={"order_id": "o-9"},
                          trigger=StartTrigger("message", message_name="new_order"))

    assert result.status == "completed"
    assert result.variables["accepted"] == "o-9"


def test_triggering_a_start_event_the_model_lacks_is_rejected(engine: Engine) -> None:
    with pytest.raises(CommandRejected) as err:
        engine.start(BY_MESSAGE, trigger=StartTrigger("message", message_name="other"))
    assert err.value.code == "no_such_start_event"


def test_monthly_cycle_schedule_follows_calendar_months() -> None:
    anchor = datetime(2026, 1, 15, tzinfo=UTC)
    text = "R/2026-01-01T06:00:00Z/P1M"

    first = next_start_time(text, "cycle", anchor=anchor, after=anchor)
    second = next_start_time(text, "cycle", anchor=anchor, after=first)

    assert first == datetime(2026, 2, 1, 6, tzinfo=UTC)
    assert second == datetime(2026, 3, 1, 6, tzinfo=UTC)


def test_bounded_cycle_is_spent_after_its_repetitions() -> None:
    anchor = datetime(2026, 1, 1, tzinfo=UTC)
    assert next_start_time("R2/PT1H", "cycle", anchor=anchor, after=anchor) == datetime(2026, 1, 1, 1, tzinfo=UTC)
    assert next_start_time("R2/PT1H", "cycle", anchor=anchor, after=datetime(2026, 1, 1, 1, tzinfo=UTC)) == \
        datetime(2026, 1, 1, 2, tzinfo=UTC)
    assert next_start_time("R2/PT1H", "cycle", anchor=anchor, after=datetime(2026, 1, 1, 2, tzinfo=UTC)) is None


def test_date_and_duration_start_timers_fire_once() -> None:
    anchor = datetime(2026, 1, 1, tzinfo=UTC)
    assert next_start_time("PT30M", "duration", anchor=anchor, after=anchor) == datetime(2026, 1, 1, 0, 30, tzinfo=UTC)
    assert next_start_time("PT30M", "duration", anchor=anchor, after=datetime(2026, 1, 1, 0, 30, tzinfo=UTC)) is None
    assert next_start_time("2026-03-01T00:00:00Z", "date", anchor=anchor, after=anchor) == \
        datetime(2026, 3, 1, tzinfo=UTC)


def test_start_timer_given_as_an_expression_is_evaluated_without_instance_data() -> None:
    anchor = datetime(2026, 1, 1, tzinfo=UTC)
    assert next_start_time('"PT" + "2H"', "duration", anchor=anchor, after=anchor) == \
        datetime(2026, 1, 1, 2, tzinfo=UTC)


def test_month_end_cycle_keeps_to_month_ends_without_drifting() -> None:
    anchor = datetime(2026, 1, 1, tzinfo=UTC)
    text = "R/2026-01-31T06:00:00Z/P1M"

    feb = next_start_time(text, "cycle", anchor=anchor, after=datetime(2026, 1, 31, 6, tzinfo=UTC))
    mar = next_start_time(text, "cycle", anchor=anchor, after=feb)

    assert feb == datetime(2026, 2, 28, 6, tzinfo=UTC)
    assert mar == datetime(2026, 3, 31, 6, tzinfo=UTC)


TWO_STARTS = model(f"""
<bpmn:startEvent id="by_hand"/>
<bpmn:startEvent id="monthly">
  <bpmn:timerEventDefinition><bpmn:timeCycle>R/2026-01-01T06:00:00Z/P1M</bpmn:timeCycle></bpmn:timerEventDefinition>
</bpmn:startEvent>
{script("report", "runs = value_of('runs', 0) + 1")}
<bpmn:endEvent id="end"/>
{chain("by_hand", "report", "end")}
{chain("monthly", "report")}
""")


def test_a_process_with_a_none_and_a_timer_start_lists_both_and_runs_once_either_way(engine: Engine) -> None:
    kinds = {info.activity_id: info.kind for info in engine.start_events(TWO_STARTS)}
    assert kinds == {"by_hand": "none", "monthly": "timer"}

    by_hand = engine.start(TWO_STARTS)
    by_timer = engine.start(TWO_STARTS, trigger=StartTrigger("timer", activity_id="monthly"))

    for result in (by_hand, by_timer):
        assert result.status == "completed"
        assert result.completed_activities.count("report") == 1
        assert result.next_timer_at is None
