"""Starting instances the way a client does (the `instance_start` service) and waiting for them.

Starts run in the bench process: each is the synchronous first step that an API call runs (lock,
engine, outbox row, the Celery message after commit). The finish time comes from the database
(`apps.bench.database.done_times`), so the latency is start call -> instance completed.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connections

from apps.bench.database import done_count, done_times, finish_counter
from apps.bench.measure import latency_ms, rate
from apps.instances.services import instance_start

ORDER = {"order": {"id": "ORD-1", "lines": 3, "customer": "C-100", "amount": 250}}


@dataclass
class Started:
    """One started instance: its id and the wall-clock time (epoch seconds) of the start call."""

    id: str
    at: float


@dataclass
class Backlog:
    """Back-pressure for a maximum-rate phase: this starter's share of the instances allowed to be
    started and not yet finished; `finished` counts the instances finished so far (by all starters)."""

    limit: int
    starters: int
    finished: Callable[[], int]

    def wait_for_room(self, started: int, *, poll: float = 0.02) -> None:
        """Sleep until this starter's unfinished instances are under its share of the limit. Its
        unfinished count is estimated as its starts minus an even share of all finishes."""
        while started - self.finished() / self.starters >= self.limit / self.starters:
            time.sleep(poll)


def start_loop(process_key: str, *, duration: float, rate_per_s: float | None,
               variables: dict[str, Any] | None = None, backlog: Backlog | None = None) -> list[Started]:
    """Start instances for `duration` seconds: as fast as possible (within `backlog`, if given), or
    `rate_per_s` evenly spaced."""
    started: list[Started] = []
    begin = time.monotonic()
    while True:
        now = time.monotonic()
        if now - begin >= duration:
            return started
        if rate_per_s:
            due = begin + len(started) / rate_per_s
            if due > now:
                time.sleep(due - now)
        elif backlog is not None:
            backlog.wait_for_room(len(started))
        at = time.time()
        instance = instance_start(process_key=process_key, variables=dict(variables or ORDER), started_by=None)
        started.append(Started(str(instance.pk), at))


def _starter(conn: Any, process_key: str, duration: float, rate_per_s: float | None,
             variables: dict[str, Any] | None, *, backlog: Backlog | None) -> None:
    try:
        started = start_loop(process_key, duration=duration, rate_per_s=rate_per_s, variables=variables,
                             backlog=backlog)
        conn.send([(s.id, s.at) for s in started])
    finally:
        connections.close_all()
        conn.close()


def start_parallel(process_key: str, *, starters: int, duration: float, rate_per_s: float | None,
                   variables: dict[str, Any] | None = None, in_flight: int = 0) -> list[Started]:
    """`start_loop` in `starters` forked processes (as several web nodes would); a rate is split evenly.

    One Python process starts ~40 instances/s on the 2-core machine: with one starter, B1's "maximum
    rate" would measure the starter, not the engine. Without a rate, `in_flight` > 0 bounds the
    instances started and not finished (counted from this call on): starters that run ahead of the
    workers only take CPU from them and grow a queue, so the completion rate measured would be that
    of an overloaded machine rather than its capacity.
    """
    backlog = None
    if not rate_per_s and in_flight > 0:
        backlog = Backlog(limit=in_flight, starters=max(1, starters), finished=finish_counter())
    if starters <= 1:
        return start_loop(process_key, duration=duration, rate_per_s=rate_per_s, variables=variables,
                          backlog=backlog)
    # A forked child must not share the parent's database socket (Celery's after-fork hook gives the
    # child its own broker pool; the parent holds no consuming channel: see `wait_for_workers`).
    connections.close_all()
    context = multiprocessing.get_context("fork")
    pipes, children = [], []
    for _ in range(starters):
        parent_end, child_end = context.Pipe(duplex=False)
        share = rate_per_s / starters if rate_per_s else None
        child = context.Process(target=_starter, args=(child_end, process_key, duration, share, variables),
                                kwargs={"backlog": backlog})
        child.start()
        pipes.append(parent_end)
        children.append(child)
    started = [Started(pk, at) for pipe in pipes for pk, at in pipe.recv()]
    for child in children:
        child.join()
    return sorted(started, key=lambda s: s.at)


def wait_done(started: list[Started], *, since: datetime, timeout: float) -> dict[str, tuple[str, float]]:
    """Poll the finish log until every started instance finished or `timeout` seconds passed."""
    wanted = {s.id for s in started}
    deadline = time.monotonic() + timeout
    # Counted while waiting, read once at the end: reading every finished row five times a second
    # took CPU from the workers being measured.
    while time.monotonic() < deadline and done_count(since) < len(wanted):
        time.sleep(0.2)
    return {pk: value for pk, value in done_times(since).items() if pk in wanted}


def throughput_figures(started: list[Started], done: dict[str, tuple[str, float]]) -> dict[str, Any]:
    """Completed instances per second (first start to last finish) and start-to-end latencies."""
    completed = {pk: at for pk, (status, at) in done.items() if status == "completed"}
    latencies = [completed[s.id] - s.at for s in started if s.id in completed]
    window = (max(completed.values()) - started[0].at) if completed and started else 0.0
    start_window = (started[-1].at - started[0].at) if len(started) > 1 else 0.0
    return {
        "started": len(started),
        "completed": len(completed),
        "failed": sum(1 for status, _ in done.values() if status != "completed"),
        "unfinished": len(started) - len(done),
        "offered_per_s": rate(len(started) - 1, start_window),
        "completed_per_s": rate(len(completed), window),
        "latency": latency_ms(latencies),
    }


def utc_now() -> datetime:
    """The current time, timezone-aware (finish-log queries compare with it)."""
    return datetime.now(UTC)
