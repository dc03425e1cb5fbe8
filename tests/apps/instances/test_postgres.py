"""Real lock contention and snapshot storage on PostgreSQL (skipped elsewhere, failed in CI without it).

SQLite serialises writers as a whole, so none of these races can happen there; on PostgreSQL the row
lock of the step pipeline is the only thing keeping concurrent steps of one instance apart.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from django.db import connection, connections
from django.utils import timezone

import bpmn
from apps.core.errors import Conflict
from apps.definitions.models import ProcessDefinition
from apps.instances import effects, runtime
from apps.instances.commands import CompleteWorkItemCommand, DeliverMessageCommand
from apps.instances.models import InstanceEvent, ProcessInstance
from apps.instances.pipeline import instance_step
from apps.instances.services import instance_start
from apps.instances.timers_sweep import timers_fire_due
from tests.apps.instances import samples
from tests.apps.instances.locks import row_lock_held_elsewhere

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

Deploy = Callable[[bytes], ProcessDefinition]
T = TypeVar("T")
THREADS = 8


def run_in_threads(count: int, work: Callable[[int], T], *, timeout: float = 60) -> list[T | BaseException]:
    """Run `work(i)` in `count` threads released together; return each result or exception."""
    barrier = threading.Barrier(count)
    outcomes: list[T | BaseException] = [RuntimeError("did not finish")] * count

    def body(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[index] = work(index)
        except BaseException as exc:
            outcomes[index] = exc
        finally:
            connections.close_all()  # each thread has its own connection; never leak it

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread hung: deadlock or unbounded wait"
    return outcomes


def test_concurrent_steps_of_one_instance_lose_no_update(deploy: Deploy, users: dict[str, Any]) -> None:
    deploy(samples.PING_COUNTER)
    instance = instance_start(
        process_key="ping_counter", variables={"limit": 1000}, started_by=users["agent"]
    )
    instance.refresh_from_db()
    seq_before = instance.event_seq

    def ping(index: int) -> str:
        try:
            instance_step(
                instance_id=instance.pk, command=DeliverMessageCommand(name="ping"), actor=f"t{index}"
            )
        except Conflict as exc:
            return exc.code
        return "ok"

    outcomes = run_in_threads(THREADS, ping)

    assert all(o in ("ok", "instance_busy") for o in outcomes), outcomes
    done = outcomes.count("ok")
    assert done == THREADS  # steps take milliseconds; the bounded wait is seconds
    instance.refresh_from_db()
    assert instance.status == "waiting"
    assert instance.variables["count"] == done
    assert instance.completed_activities.count("count_ping") == done
    events = list(InstanceEvent.objects.filter(instance=instance).order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert instance.event_seq == len(events)
    received = [e for e in events if e.seq > seq_before and e.type == "message.received"]
    assert sorted(e.actor for e in received) == sorted(f"t{i}" for i in range(THREADS))
    # The stored snapshot is consistent: the instance continues from it.
    runtime.clear_caches()
    instance_step(instance_id=instance.pk, command=DeliverMessageCommand(name="ping"), actor="after")
    instance.refresh_from_db()
    assert instance.variables["count"] == done + 1


def test_a_step_waits_a_bounded_time_then_answers_busy(
    deploy: Deploy, users: dict[str, Any], settings: Any
) -> None:
    settings.PATCHBAY_LOCK_TIMEOUT_MS = 300
    deploy(samples.PING_COUNTER)
    instance = instance_start(process_key="ping_counter", variables={"limit": 10}, started_by=users["agent"])
    instance.refresh_from_db()
    with row_lock_held_elsewhere(instance.pk), pytest.raises(Conflict) as err:
        instance_step(instance_id=instance.pk, command=DeliverMessageCommand(name="ping"), actor="busy")
    assert err.value.code == "instance_busy"
    fresh = ProcessInstance.objects.get(pk=instance.pk)
    assert (fresh.snapshot, fresh.event_seq) == (instance.snapshot, instance.event_seq)
    assert not fresh.incidents.exists()


def test_concurrent_sweeps_step_each_due_instance_exactly_once(deploy: Deploy, users: dict[str, Any]) -> None:
    deploy(samples.HOURLY)
    ids = [instance_start(process_key="hourly", started_by=users["agent"]).pk for _ in range(12)]
    later = timezone.now() + timedelta(hours=2)

    outcomes = run_in_threads(3, lambda _: timers_fire_due(now=later))

    assert all(isinstance(o, int) for o in outcomes), outcomes
    assert sum(o for o in outcomes if isinstance(o, int)) == len(ids)
    for instance_id in ids:
        assert InstanceEvent.objects.filter(instance_id=instance_id, type="timer.fired").count() == 1
        assert ProcessInstance.objects.get(pk=instance_id).status == "completed"


PARALLEL_REVIEW = samples.model(
    "parallel_review",
    f"""
{samples.START}
<bpmn:parallelGateway id="split"/>
<bpmn:userTask id="legal_review"/>
<bpmn:userTask id="credit_review"/>
{samples.script("after_credit", "credit_ok = True")}
<bpmn:parallelGateway id="join"/>
{samples.END}
{samples.chain("start", "split")}
{samples.chain("split", "legal_review", "join")}
{samples.chain("split", "credit_review", "after_credit", "join")}
{samples.chain("join", "end")}
""",
)


def test_snapshot_round_trips_through_postgresql(deploy: Deploy, users: dict[str, Any]) -> None:
    deploy(PARALLEL_REVIEW)
    results: list[bpmn.StepResult] = []

    def capture(instance: ProcessInstance, result: bpmn.StepResult) -> None:
        results.append(result)

    effects.register_effect_handler(capture)
    try:
        instance = instance_start(process_key="parallel_review", started_by=users["agent"])
        stored = ProcessInstance.objects.get(pk=instance.pk)
        assert stored.snapshot == results[-1].snapshot  # byte for byte: text, not jsonb
        items = {item.activity_id: item.id for item in results[-1].work_items_opened}
        assert sorted(stored.active_activities) == ["credit_review", "legal_review"]

        for activity in ("credit_review", "legal_review"):
            runtime.clear_caches()  # as a fresh worker process would: nothing but the database
            instance_step(
                instance_id=instance.pk,
                command=CompleteWorkItemCommand(work_item_id=items[activity]),
                actor="agent",
            )
            assert ProcessInstance.objects.get(pk=instance.pk).snapshot == results[-1].snapshot
    finally:
        effects.unregister_effect_handler(capture)

    done = ProcessInstance.objects.get(pk=instance.pk)
    assert done.status == "completed"
    assert done.variables["credit_ok"] is True
    assert done.completed_activities[-1] == "end"
    assert done.completed_activities.count("join") == 1


def test_the_tests_really_ran_on_postgresql() -> None:
    assert connection.vendor == "postgresql"
