"""Fault 3: PostgreSQL is unavailable to the worker for ~5 s -> steps retry, nothing is lost.

The shared PostgreSQL server is not touched (other sessions use it): the worker reaches the test
database through a TCP proxy of this test, and "unavailable" means the proxy drops every open
connection and refuses new ones for 5 s. Twice: first while the worker idles (only beat's sweeps
touch the database: their first query, outside a transaction, finds the connection dead), then while
eight instances charge -> wait PT1S -> confirm are mid-flight (claims, records, applies and sweeps
fail with OperationalError / InterfaceError). What
brings each back: the next beat tick (sweeps), the outbox sweeper (a pending call whose message was
consumed by a failed claim is re-sent after the pending grace; a running call whose record failed is
failed at its lease and retried with the same key; a recorded result whose apply failed is applied),
and Django dropping the broken connection before the next task. All eight complete, each effect once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from tests.e2e.faults.harness import (
    Clock,
    ExternalSystem,
    TcpProxy,
    all_finished,
    database_url,
    serving,
    statuses,
    wait_until,
)
from tests.e2e.faults.invariants import check_invariants
from tests.e2e.faults.models import CHARGE_WAIT_CONFIRM

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

OUTAGE_SECONDS = 5.0


@pytest.fixture
def proxy() -> Any:
    db = connection.settings_dict
    server = TcpProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    server.start()
    yield server
    server.stop()


def test_a_database_outage_on_the_worker_side_loses_nothing(
    deploy: Callable[[bytes], str],
    start_instances: Callable[..., list[Any]],
    workers: Callable[..., Any],
    proxy: TcpProxy,
) -> None:
    key = deploy(CHARGE_WAIT_CONFIRM)
    clock = Clock()
    with serving(ExternalSystem(delay=1.0)) as system:
        worker = workers("w1", db_url=database_url("127.0.0.1", proxy.port), pool="prefork", concurrency=2)
        # 1. While the worker idles (only beat's sweeps run, on both pool processes' connections).
        wait_until(
            lambda: len(worker.task_results("apps.integrations.tasks.sweep_outbox")) >= 4,
            "the sweeps did not run",
            timeout=30,
            workers=[worker],
        )
        idle_cut = outage(proxy, clock)

        # 2. While calls are in flight and queued, timers are running and results are being applied.
        ids = start_instances(key, 8, url=system.url)
        wait_until(lambda: len(system.requests) >= 2, "no call reached the system", timeout=30, workers=[worker])
        busy_cut = outage(proxy, clock)

        wait_until(
            lambda: all_finished(ids),
            "not every instance completed after the database came back",
            timeout=90,
            workers=[worker],
            describe=lambda: f"{statuses(ids)}",
        )
        done_at = clock()

    log = worker.log.read_text(errors="replace")
    felt = log.count("OperationalError") + log.count("InterfaceError")
    assert felt, "the worker never noticed the outages"
    report = check_invariants(ids, system, max_requests_per_key=3)
    assert report.statuses == {"completed": 8}
    assert report.applied_results == 16 and len(system.performed) == 16
    print(
        f"\ndatabase cut at {idle_cut[0]}-{idle_cut[1]}s (idle) and {busy_cut[0]}-{busy_cut[1]}s (busy), "
        f"all 8 completed at {done_at}s ({done_at - busy_cut[1]:.1f}s after); {felt} database errors in the "
        f"worker log; {report.requests} requests, {report.replays} replays"
    )


def outage(proxy: TcpProxy, clock: Clock) -> tuple[float, float]:
    """PostgreSQL is unavailable for OUTAGE_SECONDS; returns when it went down and came back."""
    proxy.cut()
    down_at = clock()
    time.sleep(OUTAGE_SECONDS)
    proxy.restore()
    return down_at, clock()
