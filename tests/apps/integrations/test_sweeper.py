"""The outbox sweeper: lost messages, due retries, dead workers and unapplied outcomes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from apps.instances.models import ProcessInstance
from apps.instances.services import instance_start
from apps.integrations.models import CallStatus, OutboundCall
from apps.integrations.services import call_claim
from apps.integrations.sweeper import outbox_sweep
from tests.apps.integrations import samples
from tests.apps.integrations.conftest import MemoryBroker, Testkit, make_due, only_call, run
from tests.conftest import require_postgres

Start = Callable[..., ProcessInstance]
LONG_AGO = timedelta(minutes=5)


def test_a_pending_call_whose_message_was_lost_is_sent_again(
    start: Start, broker: MemoryBroker, django_capture_on_commit_callbacks: Any
) -> None:
    instance = start(samples.ECHO, value=1)  # the test's transaction never commits: no message left
    call = only_call(instance)
    OutboundCall.objects.filter(pk=call.pk).update(enqueued_at=timezone.now() - LONG_AGO)

    with django_capture_on_commit_callbacks(execute=True):
        with_fresh_message = outbox_sweep()
        again = outbox_sweep()

    assert (with_fresh_message["sent"], again["sent"]) == (1, 0)  # sent once, not every second
    assert broker.call_ids("core") == [call.pk]
    assert run(call) == "result"


def test_a_recent_pending_call_is_not_sent_twice(start: Start, broker: MemoryBroker) -> None:
    start(samples.ECHO, value=1)

    assert outbox_sweep()["sent"] == 0
    assert broker.call_ids("core") == []


def test_a_retrying_call_is_sent_when_its_backoff_is_over(
    start: Start, testkit: Testkit, broker: MemoryBroker, django_capture_on_commit_callbacks: Any
) -> None:
    testkit.mode = "down"
    call = only_call(start(samples.testkit(), value=1))
    run(call)
    assert outbox_sweep()["sent"] == 0

    make_due(call)
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_sweep()["sent"] == 1

    call.refresh_from_db()
    assert call.status == CallStatus.PENDING
    assert broker.call_ids("testkit") == [call.pk]


def test_a_call_stuck_running_after_its_worker_died_counts_as_a_failed_attempt(
    start: Start, testkit: Testkit
) -> None:
    call = only_call(start(samples.testkit(), value=1))
    assert not isinstance(call_claim(call_id=call.pk), str)  # the worker took it, then died
    OutboundCall.objects.filter(pk=call.pk).update(lease_until=timezone.now() - timedelta(seconds=1))

    assert outbox_sweep()["lost"] == 1

    call.refresh_from_db()
    assert (call.status, call.attempts) == ("retrying", 1)
    assert "worker running the call was lost" in call.last_error
    make_due(call)
    assert run(call) == "result"  # the next attempt runs normally


def test_an_outcome_the_worker_could_not_apply_is_applied_by_the_sweeper(start: Start) -> None:
    instance = start(samples.ECHO, value=1)
    call = only_call(instance)
    # As if the worker recorded the result, then found the instance busy.
    OutboundCall.objects.filter(pk=call.pk).update(
        status=CallStatus.SUCCEEDED, result={"ok": True}, attempts=1, finished_at=timezone.now() - LONG_AGO
    )

    assert outbox_sweep()["applied"] == 1
    assert outbox_sweep()["applied"] == 0

    instance.refresh_from_db()
    assert (instance.status, instance.variables["echoed"]) == ("completed", {"ok": True})


def test_a_spent_call_without_its_incident_gets_one_from_the_sweeper(start: Start) -> None:
    instance = start(samples.ECHO, value=1)
    call = only_call(instance)
    OutboundCall.objects.filter(pk=call.pk).update(
        status=CallStatus.FAILED, attempts=3, last_error="boom", finished_at=timezone.now() - LONG_AGO
    )

    assert outbox_sweep()["escalated"] == 1
    assert outbox_sweep()["escalated"] == 0
    assert instance.incidents.get().message == "core.echo failed after 3 attempt(s): boom"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweepers_racing_send_each_due_call_exactly_once(
    deploy: Any, users: dict[str, Any], broker: MemoryBroker
) -> None:
    require_postgres()
    deploy(samples.ECHO)
    for n in range(40):
        instance_start(process_key="echo_flow", variables={"value": n}, started_by=users["agent"])
    broker.call_ids("core")  # the starts sent their calls: forget them
    OutboundCall.objects.update(enqueued_at=timezone.now() - LONG_AGO)
    barrier = threading.Barrier(2)
    sent: list[int] = []

    def sweep() -> None:
        try:
            barrier.wait()
            sent.append(outbox_sweep(limit=500)["sent"])
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(sent) == 40
    assert sorted(broker.call_ids("core")) == sorted(OutboundCall.objects.values_list("pk", flat=True))
