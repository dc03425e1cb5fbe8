"""Cycle timers: a missed cycle fires once, and `fire_due_timers(now=...)` re-arms relative to `now`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bpmn import Engine
from tests.bpmn.xml import chain, model, script

CYCLE = model(f"""<bpmn:startEvent id="start"/><bpmn:userTask id="work"/><bpmn:endEvent id="end"/>
<bpmn:boundaryEvent id="every_minute" attachedToRef="work" cancelActivity="false">
<bpmn:timerEventDefinition><bpmn:timeCycle>R10/PT1M</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:boundaryEvent>
{script("tick", "ticked = True")}<bpmn:endEvent id="end_tick"/>
{chain("start", "work", "end")}{chain("every_minute", "tick", "end_tick")}""")


def test_missed_cycle_rounds_fire_once_and_continue_after_now() -> None:
    engine = Engine()
    started = engine.start(CYCLE)
    due = started.next_timer_at
    assert due is not None
    late = due + timedelta(minutes=10, seconds=30)
    fired = engine.fire_due_timers(CYCLE, started.snapshot, now=late)
    assert fired.completed_activities.count("tick") == 1
    assert fired.next_timer_at == due + timedelta(minutes=11)


def test_fire_due_timers_rearms_relative_to_now_not_the_wall_clock() -> None:
    engine = Engine()
    started = engine.start(CYCLE)
    due = started.next_timer_at
    assert due is not None
    fired = engine.fire_due_timers(CYCLE, started.snapshot, now=due)
    assert fired.completed_activities.count("tick") == 1
    assert fired.next_timer_at == due + timedelta(minutes=1)
    # An ordinary step on the wall clock (before the next round) fires nothing more.
    quiet = engine.inspect(CYCLE, fired.snapshot)
    assert quiet.next_timer_at == due + timedelta(minutes=1)
    again = engine.fire_due_timers(CYCLE, fired.snapshot, now=due + timedelta(seconds=30))
    assert "tick" not in again.completed_activities


def test_after_downtime_an_ordinary_step_fires_a_missed_cycle_once() -> None:
    engine = Engine()
    started = engine.start(CYCLE)
    due = started.next_timer_at
    assert due is not None
    # Pretend the instance slept through an hour of rounds: its next round lies an hour back.
    hour_ago = (due - timedelta(hours=1)).isoformat()
    snapshot = started.snapshot.replace(due.isoformat(), hour_ago)
    assert snapshot != started.snapshot
    done = engine.fire_due_timers(CYCLE, snapshot)  # the sweep after a restart, on the wall clock
    assert done.completed_activities.count("tick") == 1
    assert done.next_timer_at is not None and done.next_timer_at > datetime.now(UTC)
