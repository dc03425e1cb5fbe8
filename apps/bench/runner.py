"""One bench run, inside the re-executed process whose settings name the bench database."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
from django.conf import settings
from django.db import connection

from apps.bench import references, report
from apps.bench.config import Options, var_dir
from apps.bench.context import Context
from apps.bench.database import is_postgres, prepare
from apps.bench.floor import durable_floor
from apps.bench.measure import CpuMeter, machine
from apps.bench.processes import WORKER_QUEUES, Fleet, beat_argv, wait_for_workers, worker_argv
from apps.bench.workloads_flow import b1_one_task, b2_typical
from apps.bench.workloads_http import b3_human
from apps.bench.workloads_state import b4_timers, b5_scale, b6_large_state

# Each floor process waits on its commits about half the time: two per core keep the cores busy
# (with 2 per core the floor ran ~25% faster than with 1 on the 2-core machine, and 4 per core no faster).
FLOOR_PROCESSES_PER_CORE = 2

Workload = Callable[[Context], dict[str, Any]]
WORKLOADS: dict[str, Workload] = {
    "B1": b1_one_task, "B2": b2_typical, "B3": b3_human, "B4": b4_timers, "B5": b5_scale, "B6": b6_large_state,
}


def _sessions() -> int | None:
    """Sessions PostgreSQL opened on the bench database so far (verifies connection reuse)."""
    if not is_postgres():
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        row = cursor.fetchone()
    return int(row[0]) if row else None


def _settle(timeout: float = 60.0) -> None:
    """Wait until the workers drained what the previous workload left in the queues."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            queued: int = 0
            for queue in WORKER_QUEUES.split(","):
                queued += int(client.llen(queue))
            if not queued:
                return
            time.sleep(0.2)
    finally:
        client.close()


def _measured(ctx: Context, name: str, workload: Workload) -> dict[str, Any]:
    _settle()
    meter = CpuMeter()
    sessions = _sessions()
    meter.start()
    begin = time.monotonic()
    figures = workload(ctx)
    entry: dict[str, Any] = {"figures": figures, "cpu": meter.stop(), "seconds": round(time.monotonic() - begin, 1)}
    after = _sessions()
    if sessions is not None and after is not None:
        # PostgreSQL counts a session when it ends: ~0 means the workers kept their connections.
        entry["db_sessions_ended"] = after - sessions
    print(f"  {name} done in {entry['seconds']} s", flush=True)
    return entry


def _references(options: Options) -> dict[str, Any]:
    seconds = 1.0 if options.short else 5.0
    return {
        "spiff_alone": references.spiff_alone(seconds),
        "postgres": references.postgres_probe(seconds),
        "durable_floor": durable_floor(seconds, processes=FLOOR_PROCESSES_PER_CORE * (os.cpu_count() or 1),
                                       redis_url=options.redis_url),
    }


def _start_workers(ctx: Context) -> None:
    names = []
    for index in range(ctx.options.workers):
        ctx.workers.append(ctx.fleet.spawn(f"worker{index}", worker_argv(ctx.options, index)))
        names.append(f"bench{index}")
    ctx.fleet.spawn("beat", beat_argv())
    wait_for_workers(names)


def run(options: Options, command: str) -> dict[str, Any]:
    """Prepare the database, start the workers and beat, run the workloads, return the report."""
    login = prepare()
    ctx = Context(options=options, fleet=Fleet(), agent=login["user"], token=login["token"])
    out: dict[str, Any] = {
        "schema": "patchbay-bench/1",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "machine": machine(),
        "options": options.as_dict(),
        "database": connection.vendor + (" (SQLite: not comparable)" if not is_postgres() else ""),
        "workloads": {},
    }
    try:
        _start_workers(ctx)
        if options.references:
            out["references"] = _references(options)
        for name in options.workloads:
            out["workloads"][name] = _measured(ctx, name, WORKLOADS[name])
    finally:
        ctx.fleet.stop_all()
    out.setdefault("references", {})
    out["profiles"] = ctx.profiles
    out["machine"]["loadavg_end"] = machine()["loadavg"]
    out["ratios"] = report.ratios(out)
    out["targets"] = report.targets(out)
    return out


def write(out: dict[str, Any], path: str) -> Path:
    """Write the report as JSON to `path` (default var/bench-<date>.json) and return the path."""
    target = Path(path) if path else var_dir() / f"bench-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(out, indent=2, default=str) + "\n")
    return target
