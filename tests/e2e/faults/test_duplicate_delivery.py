"""Fault 4: the same call / the same result is delivered more than once -> applied once.

* Three copies of one call's Celery message wait in Redis before a worker with three pool processes
  starts, so they run at the same moment: one claim wins, the system sees one request, the instance
  advances once.
* The worker task function runs again for the finished call, and its result is applied again: no-ops.
* A recorded but not yet applied result (the worker died between record and apply) is applied by
  four threads at once and the real worker's outbox sweeper: exactly one applies it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from apps.celery import app as celery_app
from apps.instances.models import InstanceEvent, ProcessInstance
from apps.integrations import services
from apps.integrations.applying import call_apply
from apps.integrations.dispatch import RUN_CALL_TASK
from apps.integrations.invoke import invoke
from apps.integrations.models import CallStatus, OutboundCall
from apps.integrations.tasks import run_outbound_call
from tests.e2e.faults.harness import Clock, ExternalSystem, all_finished, serving, statuses, wait_until
from tests.e2e.faults.invariants import check_invariants
from tests.e2e.faults.models import CHARGE

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def completions(instance_id: Any, activity_id: str) -> int:
    return InstanceEvent.objects.filter(
        instance_id=instance_id, type="activity.completed", activity_id=activity_id
    ).count()


def test_a_call_and_its_result_delivered_several_times_are_applied_once(
    deploy: Callable[[bytes], str],
    start_instances: Callable[..., list[Any]],
    workers: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = deploy(CHARGE)
    clock = Clock()
    with serving(ExternalSystem(delay=1.0)) as system:
        # 1. Three deliveries of one message, run concurrently by a real worker.
        [first_id] = start_instances(key, 1, url=system.url)
        call = OutboundCall.objects.get(instance_id=first_id)
        for _ in range(2):
            celery_app.send_task(RUN_CALL_TASK, args=(call.pk,), queue="http")
        worker = workers("w1", pool="prefork", concurrency=3)
        wait_until(lambda: all_finished([first_id]), "the instance did not complete", timeout=60, workers=[worker])
        duplicates_done = clock()
        assert len(system.requests) == 1
        # Three deliveries (four if the sweeper re-sent the call while the worker was starting): one ran.
        runs = worker.task_results(RUN_CALL_TASK)
        assert runs.count("result") == 1 and len(runs) >= 3 and set(runs) == {"result", "not_open"}, runs
        call.refresh_from_db()
        assert (call.status, call.attempts) == (CallStatus.SUCCEEDED, 1)
        worker.stop()

        # 2. The worker task runs again for the finished call; the result is applied again.
        assert [run_outbound_call(call.pk) for _ in range(2)] == ["not_open", "not_open"]
        assert [call_apply(call_id=call.pk) for _ in range(2)] == ["already_applied", "already_applied"]
        assert len(system.requests) == 1 and completions(first_id, "charge") == 1

        # 3. A result recorded but not applied (the worker died in between) is applied by four
        #    threads at once, while a real worker (its message, its sweeper) is also at it.
        [second_id] = start_instances(key, 1, url=system.url)
        second = OutboundCall.objects.get(instance_id=second_id)
        claim = services.call_claim(call_id=second.pk)
        assert isinstance(claim, services.Claim)
        outcome = invoke(claim.call, claim.operation)
        with monkeypatch.context() as patched:
            # Recorded and applied apart (the breaker had to count it, or the instance was busy) ...
            patched.setattr(services, "_record_and_apply", lambda *_, **__: None)
            # ... and the worker died between the two.
            patched.setattr(services, "call_apply", lambda **_: "not applied: the worker died here")
            assert services.call_record(claim=claim, outcome=outcome) == "result"
        second.refresh_from_db()
        assert (second.status, second.applied_at) == (CallStatus.SUCCEEDED, None)
        assert ProcessInstance.objects.get(pk=second_id).status == "waiting"

        verdicts: list[str] = []
        barrier = threading.Barrier(4)

        def apply() -> None:
            try:
                barrier.wait(10)
                verdicts.append(call_apply(call_id=second.pk))
            finally:
                connection.close()

        threads = [threading.Thread(target=apply) for _ in range(4)]
        worker = workers("w2")
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        wait_until(
            lambda: all_finished([second_id]),
            "the second instance did not complete",
            timeout=30,
            workers=[worker],
            describe=lambda: f"{statuses([second_id])}",
        )
        second_done = clock()

    assert sorted(verdicts).count("applied") == 1, verdicts
    assert set(verdicts) <= {"applied", "already_applied"}, verdicts
    report = check_invariants([first_id, second_id], system, max_requests_per_key=1)
    assert report.applied_results == 2 and report.statuses == {"completed": 2}
    assert completions(second_id, "charge") == 1
    assert len(system.requests) == 2 and system.performed == [call.idempotency_key, second.idempotency_key]
    print(f"\nduplicate deliveries done at {duplicates_done}s, concurrent applies done at {second_done}s")
