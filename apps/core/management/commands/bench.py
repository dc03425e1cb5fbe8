"""`manage.py bench`: the Patchbay benchmark (workloads B1-B6 and references; docs/performance.md).

The command first makes sure the bench database exists (never the dev database), then runs itself
again with `DATABASE_URL` and `REDIS_URL` pointing at the bench database and Redis database number,
so that it, its Celery workers, beat and gunicorn all use them through the ordinary settings.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from argparse import ArgumentParser
from typing import Any

import redis
from django.core.management.base import BaseCommand, CommandError

from apps.bench.config import CHILD_FLAG, WORKLOADS, Options
from apps.bench.database import BenchRefused, bench_url, ensure_database


class Command(BaseCommand):
    """Run the benchmark and write the JSON report and a table."""

    help = "Benchmark the engine with real workers on PostgreSQL and Redis (docs/performance.md)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """The options; `--short` is what CI runs."""
        defaults = Options()
        parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated, e.g. B1,B3")
        parser.add_argument("--workers", type=int, default=defaults.workers, help="celery worker processes")
        parser.add_argument("--starters", type=int, default=defaults.starters,
                            help="processes starting instances for B1/B2 (like web nodes)")
        parser.add_argument("--concurrency", type=int, default=defaults.concurrency, help="pool size of each")
        parser.add_argument("--pool", default=defaults.pool, choices=["prefork", "solo", "threads"])
        parser.add_argument("--duration", type=float, default=defaults.duration, help="seconds of starts per phase")
        parser.add_argument("--rate", type=float, default=defaults.rate, help="B1 fixed rate (instances/s)")
        parser.add_argument("--in-flight", type=int, default=defaults.in_flight,
                            help="B1 maximum rate: instances started and not finished at most (0: no bound)")
        parser.add_argument("--scales", default="1000,100000", help="B5 numbers of waiting instances")
        parser.add_argument("--timers", type=int, default=defaults.timers, help="B4 timers")
        parser.add_argument("--timer-window", type=float, default=defaults.timer_window, help="B4 seconds")
        parser.add_argument("--web-workers", type=int, default=defaults.web_workers, help="B3 gunicorn workers")
        parser.add_argument("--clients", type=int, default=defaults.clients, help="B3 concurrent HTTP clients")
        parser.add_argument("--loop-steps", type=int, default=defaults.loop_steps, help="B6 steps")
        parser.add_argument("--state-bytes", type=int, default=defaults.state_bytes, help="B6 variables size")
        parser.add_argument("--samples", type=int, default=defaults.samples, help="B5 samples per figure")
        parser.add_argument("--short", action="store_true", help="tiny counts: proves it works (CI)")
        parser.add_argument("--profile", action="store_true", help="py-spy profiles of B1 and B3 into var/bench/")
        parser.add_argument("--no-references", action="store_true", help="skip SpiffWorkflow/PostgreSQL probes")
        parser.add_argument("--out", default="", help="JSON report path (default var/bench-<date>.json)")
        parser.add_argument("--database-url", default="", help="bench database (default: patchbay_bench)")
        parser.add_argument("--redis-url", default=defaults.redis_url, help="bench Redis database")
        parser.add_argument("--allow-sqlite", action="store_true", help="run on SQLite (labelled, not comparable)")

    def handle(self, *args: Any, **opts: Any) -> None:
        """Launch (create the database, re-execute) or, in the re-executed process, run."""
        options = _options(opts)
        if os.environ.get(CHILD_FLAG) == "1":
            self._run(options)
        else:
            self._launch(options)

    def _launch(self, options: Options) -> None:
        try:
            url = ensure_database(bench_url(options), allow_sqlite=options.allow_sqlite)
            _require_redis(options.redis_url)
        except BenchRefused as exc:
            raise CommandError(str(exc)) from exc
        env = {**os.environ, CHILD_FLAG: "1", "DATABASE_URL": url, "REDIS_URL": options.redis_url,
               "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only-secret-key-" + "x" * 40,
               "SECURE_SSL_REDIRECT": "false", "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
               "PATCHBAY_SANDBOX_ENABLED": "false", "DEBUG": "false"}
        argv = [sys.executable, sys.argv[0], *sys.argv[1:]]
        child = subprocess.Popen(argv, env=env)  # noqa: S603 - this very command, re-executed
        # Pass an interrupt on, so the bench process stops the workers it started before it exits.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda number, _frame: child.send_signal(number))
        if child.wait():
            raise CommandError(f"the bench failed (exit {child.returncode})")

    def _run(self, options: Options) -> None:
        from apps.bench import report, runner  # noqa: PLC0415 - only the bench process needs the workloads

        signal.signal(signal.SIGTERM, _exit_on_signal)
        command = "manage.py " + shlex.join(sys.argv[1:])
        self.stdout.write(f"bench: {command}")
        out = runner.run(options, command)
        path = runner.write(out, options.out)
        self.stdout.write(report.table(out))
        report.validate(out)
        self.stdout.write(f"report: {path}")


def _exit_on_signal(signum: int, _frame: object) -> None:
    """SIGTERM ends the run through the `finally` blocks that stop the workers."""
    raise SystemExit(128 + signum)


def _options(opts: dict[str, Any]) -> Options:
    workloads = [w.strip().upper() for w in opts["workloads"].split(",") if w.strip()]
    unknown = sorted(set(workloads) - set(WORKLOADS))
    if unknown:
        raise CommandError(f"unknown workloads {unknown}; choose from {', '.join(WORKLOADS)}")
    options = Options(
        workloads=workloads, workers=opts["workers"], starters=opts["starters"],
        concurrency=opts["concurrency"], pool=opts["pool"],
        duration=opts["duration"], rate=opts["rate"], in_flight=opts["in_flight"], short=opts["short"],
        out=opts["out"],
        profile=opts["profile"], allow_sqlite=opts["allow_sqlite"], references=not opts["no_references"],
        database_url=opts["database_url"], redis_url=opts["redis_url"],
        scales=[int(s) for s in opts["scales"].split(",") if s.strip()], timers=opts["timers"],
        timer_window=opts["timer_window"], web_workers=opts["web_workers"], clients=opts["clients"],
        loop_steps=opts["loop_steps"], state_bytes=opts["state_bytes"], samples=opts["samples"],
    )
    if options.short:
        options.apply_short()
    return options


def _require_redis(url: str) -> None:
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
        client.flushdb()  # the bench's own database number: stale messages of an aborted run go
    except (redis.RedisError, OSError) as exc:
        raise BenchRefused(f"the bench needs Redis at {url}: {exc}") from exc
    finally:
        client.close()
