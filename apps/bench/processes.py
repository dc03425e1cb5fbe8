"""The processes a run starts (Celery workers, beat, gunicorn, py-spy) and what it reads off them.

Every child runs in its own session so that stopping it stops its pool children too; the bench only
ever signals the process groups it started itself.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from apps.bench.config import Options, var_dir

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WORKER_QUEUES = "engine,celery,core"


@dataclass
class Child:
    """A process the bench started, with the log it writes."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        """True while the process runs."""
        return self.process.poll() is None


@dataclass
class Fleet:
    """The bench's children, stopped together."""

    children: list[Child] = field(default_factory=list)

    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Child:
        """Start `argv` in its own session, logging to var/bench/<name>.log."""
        log = var_dir() / "bench" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        process = subprocess.Popen(  # noqa: S603 - the bench's own commands
            argv, cwd=ROOT, env={**child_env(), **(env or {})}, stdout=log.open("wb"),
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        child = Child(name, process, log)
        self.children.append(child)
        return child

    def stop(self, child: Child) -> None:
        """Stop one child and its process group (TERM, then KILL after 15 s)."""
        if child.alive():
            os.killpg(child.process.pid, signal.SIGTERM)
            try:
                child.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(child.process.pid, signal.SIGKILL)
                child.process.wait(timeout=5)
        if child in self.children:
            self.children.remove(child)

    def stop_all(self) -> None:
        """Stop every child, the last started first."""
        for child in reversed(list(self.children)):
            self.stop(child)


def child_env() -> dict[str, str]:
    """The children's environment: the bench process's own (bench database and Redis), quiet logs."""
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "apps.settings", "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING")}


def worker_argv(options: Options, index: int) -> list[str]:
    """One `celery worker` process consuming the engine queue and the `core` system's queue."""
    return [
        str(BIN / "celery"), "-A", "apps", "worker", "-Q", WORKER_QUEUES, f"--pool={options.pool}",
        "-c", str(options.concurrency), "-n", f"bench{index}@%h", "--loglevel=WARNING",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]


def beat_argv() -> list[str]:
    """Celery beat with the project's schedule (timer sweep and outbox sweep, every second)."""
    schedule = var_dir() / "bench" / "celerybeat-schedule"
    return [str(BIN / "celery"), "-A", "apps", "beat", "-s", str(schedule), "--loglevel=WARNING"]


def gunicorn_argv(options: Options, port: int) -> list[str]:
    """gunicorn serving the API with `--web-workers` sync workers."""
    return [str(BIN / "gunicorn"), "apps.wsgi:application", "-w", str(options.web_workers),
            "-b", f"127.0.0.1:{port}", "--log-level", "warning", "--access-logfile", "-"]


def wait_for_workers(names: list[str], timeout: float = 60.0) -> None:
    """Block until every named worker answers a ping (raises if one never does)."""
    from apps.celery import app  # noqa: PLC0415 - the Celery app loads Django settings

    deadline = time.monotonic() + timeout
    waiting = set(names)
    # A connection of its own, closed after: a reply channel left in the pool would hang the after-fork
    # cleanup of the starter processes (kombu closes inherited channels that are still polling).
    with app.connection_for_write() as connection:
        while waiting and time.monotonic() < deadline:
            for reply in app.control.ping(timeout=1.0, connection=connection) or []:
                waiting -= {name.split("@")[0] for name in reply}
    if waiting:
        raise RuntimeError(f"workers {sorted(waiting)} did not start; see var/bench/*.log")


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants, read from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, []))
    return found


def rss_mb(pid: int) -> float:
    """Resident memory of one process in MB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def py_spy_available() -> str | None:
    """The py-spy executable, if installed (pip install py-spy)."""
    candidate = BIN / "py-spy"
    return str(candidate) if candidate.exists() else shutil.which("py-spy")
