"""Fault 5: 200 interrupting PT2S timer boundaries race a connector that answers in 1-3 s.

Each instance charges through `http.request`; the system answers after a delay drawn per
Idempotency-Key from a seeded RNG (uniform 1-3 s, the same on every run), and a PT2S interrupting
timer boundary on the task leads to `too_late`, the answer to `on_time`. Two workers, as in production:
`engine` (prefork, 2 processes, with beat: timer sweep and outbox sweeper) and the `http` system's
queue (2 processes with 12 threads each: connector calls block on I/O). Instances are started through the service in
batches, ~8/s. Whatever wins, each instance takes exactly one path; a call whose task the timer took
away is cancelled, and its answer, if it comes, is dropped (never applied).
"""

from __future__ import annotations

import statistics
import time
import warnings
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from apps.instances.models import ProcessInstance
from apps.integrations.dispatch import RUN_CALL_TASK
from apps.integrations.models import CallStatus, OutboundCall
from tests.e2e.faults.harness import (
    Clock,
    ExternalSystem,
    all_finished,
    seeded_delays,
    serving,
    statuses,
    wait_until,
)
from tests.e2e.faults.invariants import check_invariants
from tests.e2e.faults.models import RACE

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

INSTANCES = 200
BATCH = 10
# One batch per this many seconds (~8 instances/s): the http worker keeps up, so most calls start at once.
BATCH_SECONDS = 1.2
SEED = 20261122


def test_timer_boundaries_racing_slow_calls_each_take_exactly_one_path(
    deploy: Callable[[bytes], str], start_instances: Callable[..., list[Any]], workers: Callable[..., Any]
) -> None:
    key = deploy(RACE)
    clock = Clock()
    system = ExternalSystem(delay=seeded_delays(SEED, 1.0, 3.0))
    with serving(system):
        engine = workers("engine", queues="engine,celery,core", pool="prefork", concurrency=2)
        # Two processes of 12 threads for the http queue: less GIL contention than one of 24.
        https = [
            workers(
                f"http{n}",
                queues="http",
                pool="threads",
                concurrency=12,
                beat=False,
                env={"PATCHBAY_SYSTEM_MAX_CONCURRENCY": "64"},
            )
            for n in (1, 2)
        ]
        ready_at = clock()
        ids: list[Any] = []
        while len(ids) < INSTANCES:
            batch_started = time.monotonic()
            ids += start_instances(key, BATCH, url=system.url)
            time.sleep(max(0.0, BATCH_SECONDS - (time.monotonic() - batch_started)))
        started_at = clock()
        wait_until(
            lambda: all_finished(ids),
            f"not all {INSTANCES} instances finished",
            timeout=90,
            workers=[engine, *https],
            interval=1.0,
            describe=lambda: f"{statuses(ids)}",
        )
        done_at = clock()
        # Late answers still on their way are dropped too: let the slowest (3 s) arrive first.
        wait_until(
            lambda: (
                not OutboundCall.objects.filter(instance_id__in=ids, status=CallStatus.RUNNING).exists()
                and sum(map(_calls_in_flight, https)) == 0
            ),
            "calls still running",
            timeout=20,
            workers=[engine, *https],
        )

    report = check_invariants(ids, system, max_requests_per_key=2)
    assert report.statuses == {"completed": INSTANCES}
    paths: Counter[str] = Counter()
    for instance in ProcessInstance.objects.filter(pk__in=ids):
        done = instance.completed_activities
        taken = [marker for marker in ("on_time", "too_late") if marker in done]
        assert len(taken) == 1 and done.count(taken[0]) == 1, f"{instance.pk} took {taken}: {done}"
        assert instance.variables["path"] == ("normal" if taken == ["on_time"] else "timeout")
        assert ("charged" in instance.variables) == (taken == ["on_time"])
        paths[taken[0]] += 1
    calls = Counter(OutboundCall.objects.filter(instance_id__in=ids).values_list("status", flat=True))
    assert calls[CallStatus.SUCCEEDED] - report.ignored_results == paths["on_time"] == report.applied_results
    assert calls[CallStatus.CANCELLED] + report.ignored_results == paths["too_late"]
    dropped = sum(w.task_results(RUN_CALL_TASK).count("dropped") for w in https)
    timing = _timing(ids, system)
    # A real race: calls were in flight when their timer fired, and their answers were dropped.
    assert dropped + report.ignored_results > 0, (paths, dropped)
    if not paths["on_time"]:
        # Possible only when the machine is so loaded that claim + request + record take over 1 s.
        warnings.warn(f"no answer beat its timer ({timing}): only the timeout side was exercised", stacklevel=1)
    print(
        f"\nworkers ready at {ready_at}s, {INSTANCES} started by {started_at}s, all finished at {done_at}s; "
        f"paths {dict(paths)}; calls {dict(calls)}; {dropped} late answers dropped by the worker, "
        f"{report.ignored_results} recorded but not applied; {report.requests} requests; {timing}"
    )


def _calls_in_flight(worker: Any) -> int:
    """`run_outbound_call` tasks the worker received and has not finished."""
    lines = [line for line in worker.log.read_text(errors="replace").splitlines() if f"Task {RUN_CALL_TASK}[" in line]
    received = sum(1 for line in lines if '] received"' in line)
    return received - sum(1 for line in lines if "] succeeded in " in line or "] raised " in line)


def _timing(ids: list[Any], system: ExternalSystem) -> str:
    """Median seconds from the call's row to its claim, and from the claim to the system."""
    arrivals = {r.key: r.at for r in system.requests if not r.replay}
    claims, to_system = [], []
    rows = OutboundCall.objects.filter(instance_id__in=ids, started_at__isnull=False)
    for key, created_at, started_at in rows.values_list("idempotency_key", "created_at", "started_at"):
        assert started_at is not None
        claims.append((started_at - created_at).total_seconds())
        if key in arrivals:
            to_system.append(arrivals[key] - started_at.timestamp())
    if not claims:
        return "no call was claimed"
    return (
        f"claim wait median {statistics.median(claims):.2f}s (max {max(claims):.2f}s), claim to system "
        f"median {statistics.median(to_system or [0]):.2f}s (max {max(to_system or [0]):.2f}s)"
    )
