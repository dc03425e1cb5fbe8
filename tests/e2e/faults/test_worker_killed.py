"""Fault 1: the worker is killed (SIGKILL) while a connector call is in flight.

The system holds its answer 3 s; when the request arrives, the whole worker process group is killed.
Its message left Redis when the worker took it (no emulated acks, which would have given it back
only after the visibility timeout, an hour), so recovery is the outbox sweeper's: the call stays
`running` until its lease (operation timeout + `PATCHBAY_OUTBOX_RUNNING_GRACE_SECONDS`, 5 + 2 s here)
runs out, then counts as a failed attempt and is sent again to the new worker. The call goes out
again with the same Idempotency-Key, the system performs the effect once and replays its answer,
and the instance gets exactly one result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from apps.instances.models import ProcessInstance
from apps.integrations.models import CallStatus, OutboundCall
from tests.e2e.faults.harness import Clock, ExternalSystem, all_finished, serving, statuses, wait_until
from tests.e2e.faults.invariants import check_invariants
from tests.e2e.faults.models import CHARGE

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_call_in_flight_when_its_worker_is_killed_completes_once(
    deploy: Callable[[bytes], str], start_instances: Callable[..., list[Any]], workers: Callable[..., Any]
) -> None:
    key = deploy(CHARGE)
    clock = Clock()
    with serving(ExternalSystem(delay=3.0)) as system:
        first = workers("w1")
        [instance_id] = start_instances(key, 1, url=system.url)
        wait_until(system.arrived.is_set, "the charge did not reach the system", timeout=30, workers=[first])
        first.kill()
        killed_at = clock()
        call = OutboundCall.objects.get(instance_id=instance_id)
        assert (call.status, call.attempts) == (CallStatus.RUNNING, 1)

        second = workers("w2")
        wait_until(
            lambda: all_finished([instance_id]),
            "the instance did not complete after the kill",
            timeout=60,
            workers=[second],
            describe=lambda: f"{statuses([instance_id])} {system.requests}",
        )
        done_at = clock()

    report = check_invariants([instance_id], system, max_requests_per_key=2)
    call.refresh_from_db()
    instance = ProcessInstance.objects.get(pk=instance_id)
    assert instance.status == "completed"
    assert (call.status, call.attempts, report.applied_results) == (CallStatus.SUCCEEDED, 2, 1)
    # Sent twice with one key, performed once; the replayed answer is the one the instance holds.
    assert [(r.key, r.replay) for r in system.requests] == [(call.idempotency_key, False), (call.idempotency_key, True)]
    assert system.performed == [call.idempotency_key]
    assert instance.variables["charged"]["json"] == {"effect_id": 1, "key": call.idempotency_key, "replay": True}
    print(f"\nworker killed at {killed_at}s, instance completed at {done_at}s (recovery {done_at - killed_at:.1f}s)")
