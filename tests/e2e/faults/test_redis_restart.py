"""Fault 2: Redis (the broker) is killed while instances wait, and comes back empty.

A private redis-server keeps nothing on disk, so a restart loses every queued and unacknowledged
message - the worst case. Twelve instances charge -> wait PT1S -> confirm: eight are started before the
outage (calls in flight, calls queued, timers running), four while Redis is down (their messages
cannot be sent at all). Redis comes back on the same port after ~5 s; the worker and its beat
reconnect, beat's sweeps fire the timers that came due meanwhile, and the outbox sweeper re-sends every
pending call whose message is older than `PATCHBAY_OUTBOX_PENDING_GRACE_SECONDS`. All twelve complete.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.faults.harness import Clock, ExternalSystem, PrivateRedis, all_finished, serving, statuses, wait_until
from tests.e2e.faults.invariants import check_invariants
from tests.e2e.faults.models import CHARGE_WAIT_CONFIRM

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

OUTAGE_SECONDS = 5.0


def test_instances_waiting_through_a_redis_restart_all_complete(
    deploy: Callable[[bytes], str],
    start_instances: Callable[..., list[Any]],
    workers: Callable[..., Any],
    redis: PrivateRedis,
) -> None:
    key = deploy(CHARGE_WAIT_CONFIRM)
    clock = Clock()
    with serving(ExternalSystem(delay=1.0)) as system:
        worker = workers("w1", pool="prefork", concurrency=2)
        before = start_instances(key, 8, url=system.url)
        wait_until(lambda: len(system.requests) >= 2, "no call reached the system", timeout=30, workers=[worker])

        redis.kill()
        down_at = clock()
        during = start_instances(key, 4, url=system.url)  # their calls cannot be sent
        started_during = clock() - down_at
        time.sleep(max(0.0, OUTAGE_SECONDS - (clock() - down_at)))
        redis.start()
        up_at = clock()

        ids = before + during
        wait_until(
            lambda: all_finished(ids),
            "not every instance completed after Redis came back",
            timeout=90,
            workers=[worker],
            describe=lambda: f"{statuses(ids)}",
        )
        done_at = clock()

    report = check_invariants(ids, system, max_requests_per_key=2)
    assert report.statuses == {"completed": 12}
    assert report.applied_results == 24  # charge and confirm of each
    assert len(system.performed) == 24
    print(
        f"\nRedis down at {down_at}s (4 starts took {started_during:.1f}s), back at {up_at}s, "
        f"all 12 completed at {done_at}s ({done_at - up_at:.1f}s after); {report.requests} requests, "
        f"{report.replays} replays"
    )
