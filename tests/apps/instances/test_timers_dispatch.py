"""The dispatching timer sweep: claim due-soon timers, send them in batches, fire each once, never early."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.definitions.models import ProcessDefinition
from apps.instances import tasks
from apps.instances.models import InstanceEvent, ProcessInstance, StartTimer
from apps.instances.services import instance_start
from apps.instances.start_index import start_events_reconcile
from apps.instances.timers_sweep import TimerBatch, timer_batches, timers_dispatch_due, timers_fire_batch
from tests.apps.instances import messaging_samples as ms
from tests.apps.instances import samples
from tests.apps.instances.locks import row_lock_held_elsewhere
from tests.apps.instances.test_postgres import run_in_threads

Deploy = Callable[[bytes], ProcessDefinition]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def hourly(deploy: Deploy, users: dict[str, Any]) -> Callable[[], ProcessInstance]:
    """Start an instance waiting on a PT1H timer (`next_timer_at` about an hour from now)."""
    deploy(samples.HOURLY)
    return lambda: instance_start(process_key="hourly", started_by=users["agent"])


def due_at(instance: ProcessInstance, at: datetime) -> ProcessInstance:
    """Pretend the instance's timer is due at `at` (as far as the sweep can tell)."""
    ProcessInstance.objects.filter(pk=instance.pk).update(next_timer_at=at)
    instance.refresh_from_db()
    return instance


class Outbox:
    """A `send` that keeps the batches instead of publishing them (or drops them: a lost message)."""

    def __init__(self) -> None:
        self.batches: list[TimerBatch] = []

    def __call__(self, batch: TimerBatch) -> None:
        self.batches.append(batch)

    @property
    def ids(self) -> list[str]:
        return [pk for batch in self.batches for pk in batch.instance_ids]


@pytest.fixture
def outbox() -> Iterator[Outbox]:
    yield Outbox()


def fired_events(instance: ProcessInstance) -> list[InstanceEvent]:
    return list(InstanceEvent.objects.filter(instance=instance, type="timer.fired"))


def test_the_sweep_claims_timers_due_within_the_lookahead_and_leaves_later_ones(
    hourly: Callable[[], ProcessInstance], outbox: Outbox, settings: Any
) -> None:
    settings.PATCHBAY_TIMER_LOOKAHEAD_MS = 2000
    soon, later = due_at(hourly(), T0 + timedelta(seconds=1.5)), due_at(hourly(), T0 + timedelta(seconds=3))

    assert timers_dispatch_due(send=outbox, now=T0) == 1

    assert outbox.batches == [TimerBatch([str(soon.pk)], T0 + timedelta(seconds=1.5))]
    assert str(later.pk) not in outbox.ids


def test_overlapping_sweeps_send_an_instance_only_once(hourly: Callable[[], ProcessInstance], outbox: Outbox) -> None:
    instance = due_at(hourly(), T0)

    assert timers_dispatch_due(send=outbox, now=T0) == 1
    assert timers_dispatch_due(send=outbox, now=T0 + timedelta(seconds=1)) == 0

    assert outbox.ids == [str(instance.pk)]


def test_a_lost_batch_is_claimed_and_sent_again_when_its_lease_ends(
    hourly: Callable[[], ProcessInstance], outbox: Outbox, settings: Any
) -> None:
    settings.PATCHBAY_TIMER_LEASE_SECONDS = 30
    instance = due_at(hourly(), T0)
    timers_dispatch_due(send=lambda batch: None, now=T0)  # the message never arrives

    assert timers_dispatch_due(send=outbox, now=T0 + timedelta(seconds=29)) == 0
    assert timers_dispatch_due(send=outbox, now=T0 + timedelta(seconds=31)) == 1

    assert outbox.ids == [str(instance.pk)]


def test_a_batch_that_fails_to_send_is_sent_again_when_its_lease_ends(
    hourly: Callable[[], ProcessInstance], outbox: Outbox, settings: Any
) -> None:
    settings.PATCHBAY_TIMER_LEASE_SECONDS = 30
    instance = due_at(hourly(), T0)

    def broker_down(batch: TimerBatch) -> None:
        raise ConnectionError("broker down")

    assert timers_dispatch_due(send=broker_down, now=T0) == 1  # logged, not raised

    assert timers_dispatch_due(send=outbox, now=T0 + timedelta(seconds=31)) == 1
    assert outbox.ids == [str(instance.pk)]


def test_a_re_armed_timer_is_claimable_at_once(hourly: Callable[[], ProcessInstance], outbox: Outbox) -> None:
    instance = due_at(hourly(), T0)
    timers_dispatch_due(send=outbox, now=T0)

    due_at(instance, T0 + timedelta(seconds=1))  # e.g. the next cycle, armed by the step that fired
    assert timers_dispatch_due(send=outbox, now=T0 + timedelta(seconds=1)) == 1

    assert outbox.ids == [str(instance.pk)] * 2


def test_no_more_claims_are_open_than_the_in_flight_limit(
    hourly: Callable[[], ProcessInstance], outbox: Outbox, settings: Any
) -> None:
    settings.PATCHBAY_TIMER_MAX_IN_FLIGHT = 2
    backlog = [due_at(hourly(), T0 - timedelta(minutes=n)) for n in range(5)]

    assert timers_dispatch_due(send=outbox, now=T0) == 2
    assert timers_dispatch_due(send=outbox, now=T0) == 0

    # The longest overdue go first; firing them makes room for the rest.
    assert set(outbox.ids) == {str(backlog[4].pk), str(backlog[3].pk)}
    ProcessInstance.objects.filter(pk__in=outbox.ids).update(next_timer_at=None)
    assert timers_dispatch_due(send=outbox, now=T0) == 2


def test_batches_hold_close_due_times_and_fire_at_the_latest() -> None:
    ids = [uuid.uuid4() for _ in range(5)]
    due = [(ids[0], T0), (ids[1], T0 + timedelta(milliseconds=50)), (ids[2], T0 + timedelta(milliseconds=90)),
           (ids[3], T0 + timedelta(milliseconds=150)), (ids[4], T0 + timedelta(milliseconds=160))]

    by_span = timer_batches(due, size=10, span=timedelta(milliseconds=100))
    by_size = timer_batches(due, size=2, span=timedelta(seconds=10))

    assert [(len(b.instance_ids), b.fire_at) for b in by_span] == [(3, due[2][1]), (2, due[4][1])]
    assert [b.instance_ids for b in by_size] == [[str(ids[0]), str(ids[1])], [str(ids[2]), str(ids[3])],
                                                 [str(ids[4])]]


def test_a_batch_never_fires_a_timer_before_it_is_due(
    hourly: Callable[[], ProcessInstance], monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = hourly()
    instance.refresh_from_db()
    assert instance.next_timer_at is not None

    assert timers_fire_batch(instance_ids=[str(instance.pk)]) == []  # not due: nothing to retry either
    assert fired_events(instance) == []
    assert ProcessInstance.objects.get(pk=instance.pk).status == "waiting"

    later = instance.next_timer_at + timedelta(milliseconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert timers_fire_batch(instance_ids=[str(instance.pk)]) == []
    [fired] = fired_events(instance)
    assert fired.at >= instance.next_timer_at
    assert ProcessInstance.objects.get(pk=instance.pk).status == "completed"


def test_a_duplicate_batch_fires_each_instance_once(
    hourly: Callable[[], ProcessInstance], monkeypatch: pytest.MonkeyPatch
) -> None:
    instances = [hourly() for _ in range(3)]
    ids = [str(i.pk) for i in instances]
    later = timezone.now() + timedelta(hours=2)
    monkeypatch.setattr(timezone, "now", lambda: later)

    assert timers_fire_batch(instance_ids=ids) == []
    assert timers_fire_batch(instance_ids=ids) == []  # the redelivery finds nothing due, retries nothing

    for instance in instances:
        instance.refresh_from_db()
        assert instance.status == "completed"
        assert len(fired_events(instance)) == 1


def test_the_batch_task_sends_skipped_instances_again_a_bounded_number_of_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    # "b" is held by another step every time.
    monkeypatch.setattr(tasks, "timers_fire_batch", lambda *, instance_ids: [pk for pk in instance_ids if pk == "b"])
    monkeypatch.setattr(tasks.fire_timer_batch, "apply_async", lambda args, **options: sent.append((args, options)))
    due = timezone.now().isoformat()

    assert tasks.fire_timer_batch.apply((["a", "b"], due, 0)).get() == 1
    assert tasks.fire_timer_batch.apply((["b"], due, tasks.TIMER_BATCH_RETRIES)).get() == 0

    [(args, options)] = sent
    assert args == (["b"], due, 1)
    assert options["countdown"] > 0 and options["eta"] is None


def test_start_timers_and_message_routing_run_in_their_own_tasks(settings: Any) -> None:
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert {"apps.instances.tasks.fire_due_timers", "apps.instances.tasks.fire_start_timers",
            "apps.instances.tasks.route_pending_messages"} <= scheduled


def test_a_start_timer_fires_while_a_backlog_of_instance_timers_waits(
    hourly: Callable[[], ProcessInstance], deploy: Deploy, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PATCHBAY_TIMER_MAX_IN_FLIGHT = 1
    backlog = [due_at(hourly(), timezone.now() - timedelta(minutes=5)) for _ in range(3)]
    deploy(ms.scheduled("every_minute", "R/PT1M"))
    start_events_reconcile()
    StartTimer.objects.update(next_fire_at=timezone.now() - timedelta(seconds=1))
    monkeypatch.setattr(tasks.fire_timer_batch, "apply_async", lambda args, **options: None)

    assert tasks.fire_due_timers.apply().get() == 1  # the backlog is fed one claim at a time
    assert tasks.fire_start_timers.apply().get() == 1

    assert ProcessInstance.objects.filter(process_key="every_minute").count() == 1
    assert all(fired_events(instance) == [] for instance in backlog)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_batches_fire_each_due_instance_exactly_once(
    deploy: Deploy, users: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy(samples.HOURLY)
    ids = [str(instance_start(process_key="hourly", started_by=users["agent"]).pk) for _ in range(12)]
    later = timezone.now() + timedelta(hours=2)
    monkeypatch.setattr(timezone, "now", lambda: later)

    outcomes = run_in_threads(4, lambda _: timers_fire_batch(instance_ids=ids))

    assert all(isinstance(o, list) for o in outcomes), outcomes
    for instance in ProcessInstance.objects.filter(pk__in=ids):
        assert instance.status == "completed"
        assert len(fired_events(instance)) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_instance_another_step_holds_is_skipped_and_fires_later(deploy: Deploy, users: dict[str, Any]) -> None:
    deploy(samples.HOURLY)
    instance = instance_start(process_key="hourly", started_by=users["agent"])
    ProcessInstance.objects.filter(pk=instance.pk).update(next_timer_at=timezone.now() - timedelta(seconds=1))
    with row_lock_held_elsewhere(instance.pk):
        assert timers_fire_batch(instance_ids=[str(instance.pk)]) == [str(instance.pk)]
    assert timers_fire_batch(instance_ids=[str(instance.pk)]) == []
