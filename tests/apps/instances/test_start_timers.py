"""Start-timer schedules: a definition with timer start events starts its own instances."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from apps.definitions.hooks import run_deployed_hooks
from apps.definitions.models import ProcessDefinition
from apps.instances.models import (
    InstanceEvent,
    MessageStartEvent,
    ProcessInstance,
    StartEventScan,
    StartTimer,
    StartTimerFiring,
)
from apps.instances.start_index import start_events_reconcile
from apps.instances.start_timers import start_timers_fire_due
from tests.apps.instances import messaging_samples as ms
from tests.apps.instances.test_postgres import run_in_threads

Deploy = Callable[[bytes], ProcessDefinition]
MONTHLY = ms.scheduled("monthly_report", "R/2026-01-01T06:00:00Z/P1M", event_id="month_start")
JAN_1 = datetime(2026, 1, 1, tzinfo=UTC)


def anchor_schedule(timer: StartTimer, anchor: datetime, next_fire_at: datetime) -> StartTimer:
    """Pretend the schedule began at `anchor` (tests must not depend on today's date)."""
    StartTimer.objects.filter(pk=timer.pk).update(anchor=anchor, next_fire_at=next_fire_at)
    timer.refresh_from_db()
    return timer


def test_deploying_a_definition_with_a_timer_start_event_schedules_it(deploy: Deploy) -> None:
    definition = deploy(MONTHLY)

    run_deployed_hooks(definition.pk)  # what `definition_deploy` does after commit

    [timer] = StartTimer.objects.all()
    assert (timer.definition_id, timer.activity_id, timer.timer_kind) == (definition.pk, "month_start", "cycle")
    assert timer.anchor == definition.deployed_at
    assert timer.next_fire_at is not None and timer.next_fire_at > definition.deployed_at
    assert timer.next_fire_at.hour == 6 and timer.next_fire_at.minute == 0
    assert StartEventScan.objects.filter(definition=definition).exists()


def test_the_sweep_schedules_definitions_no_hook_indexed(deploy: Deploy) -> None:
    deploy(MONTHLY)  # the test transaction never commits, so the hook did not run
    assert not StartTimer.objects.exists()

    assert start_timers_fire_due() == 0

    assert StartTimer.objects.count() == 1
    assert start_events_reconcile() == 0  # everything scanned: one cheap query from now on


def test_each_occurrence_starts_one_instance_and_the_cycle_follows_calendar_months(deploy: Deploy) -> None:
    deploy(MONTHLY)
    start_events_reconcile()
    timer = anchor_schedule(StartTimer.objects.get(), JAN_1, datetime(2026, 1, 1, 6, tzinfo=UTC))
    occurrences = []

    for _ in range(3):
        due = timer.next_fire_at
        assert due is not None
        occurrences.append(due)
        assert start_timers_fire_due(now=due + timedelta(seconds=1)) == 1
        assert start_timers_fire_due(now=due + timedelta(seconds=2)) == 0  # never twice for one occurrence
        timer.refresh_from_db()

    assert occurrences == [datetime(2026, month, 1, 6, tzinfo=UTC) for month in (1, 2, 3)]
    assert timer.next_fire_at == datetime(2026, 4, 1, 6, tzinfo=UTC)
    assert timer.fired_count == 3
    instances = ProcessInstance.objects.filter(process_key="monthly_report").order_by("business_key")
    assert [i.business_key for i in instances] == sorted(f"month_start@{o.isoformat()}" for o in occurrences)
    assert all(i.status == "completed" and i.variables["ran"] is True for i in instances)
    assert all(i.started_by is None for i in instances)
    first = instances[0]
    assert InstanceEvent.objects.filter(instance=first, type="timer_start.fired", activity_id="month_start").exists()
    assert InstanceEvent.objects.get(instance=first, type="instance.started").actor == "system"
    assert StartTimerFiring.objects.count() == 3


def test_missed_occurrences_fire_once_then_the_next_after_now(deploy: Deploy) -> None:
    deploy(ms.scheduled("every_minute", "R/PT1M"))
    start_events_reconcile()
    timer = anchor_schedule(StartTimer.objects.get(), JAN_1, JAN_1 + timedelta(minutes=1))
    back_up = JAN_1 + timedelta(minutes=10, seconds=30)  # ten occurrences fell into the downtime

    assert start_timers_fire_due(now=back_up) == 1
    assert start_timers_fire_due(now=back_up) == 0

    timer.refresh_from_db()
    assert timer.next_fire_at == JAN_1 + timedelta(minutes=11)
    assert (timer.fired_count, timer.last_fired_at) == (1, back_up)
    [firing] = StartTimerFiring.objects.all()
    assert firing.occurrence == JAN_1 + timedelta(minutes=1)
    assert ProcessInstance.objects.filter(process_key="every_minute").count() == 1


def test_a_bounded_cycle_is_spent_after_its_repetitions(deploy: Deploy) -> None:
    deploy(ms.scheduled("twice", "R2/PT1H"))
    start_events_reconcile()
    timer = anchor_schedule(StartTimer.objects.get(), JAN_1, JAN_1 + timedelta(hours=1))

    assert start_timers_fire_due(now=JAN_1 + timedelta(hours=1)) == 1
    assert start_timers_fire_due(now=JAN_1 + timedelta(hours=2)) == 1
    assert start_timers_fire_due(now=JAN_1 + timedelta(days=30)) == 0

    timer.refresh_from_db()
    assert (timer.next_fire_at, timer.fired_count) == (None, 2)


def test_an_occurrence_already_fired_starts_nothing_but_advances(deploy: Deploy) -> None:
    definition = deploy(ms.scheduled("every_minute", "R/PT1M"))
    start_events_reconcile()
    timer = anchor_schedule(StartTimer.objects.get(), JAN_1, JAN_1 + timedelta(minutes=1))
    StartTimerFiring.objects.create(process_key="every_minute", activity_id="tick", occurrence=timer.next_fire_at,
                                    definition=definition, fired_at=JAN_1)

    assert start_timers_fire_due(now=JAN_1 + timedelta(minutes=1)) == 0

    timer.refresh_from_db()
    assert timer.next_fire_at == JAN_1 + timedelta(minutes=2)
    assert not ProcessInstance.objects.exists()


def test_deploying_a_new_version_moves_the_schedule_and_the_message_starts(deploy: Deploy) -> None:
    old = deploy(MONTHLY)
    old_order = deploy(ms.ORDER)
    start_events_reconcile()
    assert StartTimer.objects.get().definition_id == old.pk
    assert MessageStartEvent.objects.get().definition_id == old_order.pk

    new = deploy(MONTHLY.replace(b'id="work"', b'id="work" name="Report"'))
    new_order = deploy(ms.ORDER.replace(b'name="Ship"', b'name="Ship now"'))
    start_events_reconcile()

    [timer] = StartTimer.objects.all()
    assert (timer.definition_id, timer.anchor) == (new.pk, new.deployed_at)
    assert [m.definition_id for m in MessageStartEvent.objects.all()] == [new_order.pk]


def test_a_schedule_held_by_another_sweep_is_skipped(deploy: Deploy) -> None:
    deploy(ms.scheduled("every_minute", "R/PT1M"))
    start_events_reconcile()
    anchor_schedule(StartTimer.objects.get(), JAN_1, JAN_1 + timedelta(minutes=1))

    # SQLite has no row locks; re-checking under the lock is what matters there: advanced = not due.
    assert start_timers_fire_due(now=JAN_1 + timedelta(minutes=1)) == 1
    assert start_timers_fire_due(now=JAN_1 + timedelta(minutes=1)) == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_sweeps_start_exactly_one_instance_per_occurrence(deploy: Deploy, users: dict[str, Any]) -> None:
    deploy(ms.scheduled("every_minute", "R/PT1M"))
    start_events_reconcile()
    anchor_schedule(StartTimer.objects.get(), JAN_1, JAN_1 + timedelta(minutes=1))
    now = JAN_1 + timedelta(minutes=1, seconds=5)

    outcomes = run_in_threads(8, lambda _: start_timers_fire_due(now=now))

    assert all(isinstance(o, int) for o in outcomes), outcomes
    assert sum(o for o in outcomes if isinstance(o, int)) == 1
    assert ProcessInstance.objects.filter(process_key="every_minute").count() == 1
    assert StartTimerFiring.objects.count() == 1
    assert StartTimer.objects.get().next_fire_at == JAN_1 + timedelta(minutes=2)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_locked_schedule_is_left_for_the_next_sweep(deploy: Deploy, users: dict[str, Any]) -> None:
    deploy(ms.scheduled("every_minute", "R/PT1M"))
    start_events_reconcile()
    timer = anchor_schedule(StartTimer.objects.get(), JAN_1, JAN_1 + timedelta(minutes=1))
    now = JAN_1 + timedelta(minutes=1)

    with transaction.atomic():
        StartTimer.objects.select_for_update().get(pk=timer.pk)  # another sweep holds it
        [held] = run_in_threads(1, lambda _: start_timers_fire_due(now=now))
    assert held == 0
    assert start_timers_fire_due(now=now) == 1
    assert timezone.is_aware(StartTimerFiring.objects.get().occurrence)
