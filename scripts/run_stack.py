#!/usr/bin/env python3
"""Run the whole Patchbay stack in the foreground: web server, one Celery worker and Celery beat.

A deliberately small supervisor for `make run`:

* starts the three processes, each in its own process group, with the current environment;
* forwards their output line by line, prefixed with the process name;
* on Ctrl-C or SIGTERM stops all of them (SIGTERM, then SIGKILL after a grace period) and exits 0;
* when any one exits by itself, stops the others and exits non-zero (its code, or 1).

It is not a production process manager: in production each process runs under systemd, Kubernetes
or similar (docs/operations.md).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
GRACE_SECONDS = 10.0
COLOURS = ("\033[36m", "\033[35m", "\033[33m", "\033[32m", "\033[34m")
RESET = "\033[0m"


@dataclass
class Child:
    """One supervised command."""

    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    reader: threading.Thread | None = field(default=None, repr=False)


class Supervisor:
    """Start children, forward their output, and stop all of them together."""

    def __init__(self, children: Sequence[Child], *, out: IO[str] | None = None,
                 grace_seconds: float = GRACE_SECONDS, colour: bool | None = None) -> None:
        self.children = list(children)
        self.out = out or sys.stdout
        self.grace_seconds = grace_seconds
        self.colour = self.out.isatty() if colour is None else colour
        self._names = ["stack", *(c.name for c in self.children)]
        self.width = max(len(name) for name in self._names)
        self._lock = threading.Lock()
        self._stop_requested = threading.Event()

    def emit(self, name: str, line: str) -> None:
        """Write one prefixed line of output."""
        label = f"{name:<{self.width}} |"
        if self.colour:
            index = self._names.index(name) if name in self._names else 0
            label = f"{COLOURS[index % len(COLOURS)]}{label}{RESET}"
        with self._lock:
            self.out.write(f"{label} {line.rstrip()}\n")
            self.out.flush()

    def _forward(self, child: Child) -> None:
        assert child.process is not None and child.process.stdout is not None
        for raw in iter(child.process.stdout.readline, b""):
            self.emit(child.name, raw.decode("utf-8", errors="replace"))

    def start(self) -> None:
        """Start every child in its own process group, output piped to us."""
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for child in self.children:
            child.process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                child.argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, process_group=0,
            )
            child.reader = threading.Thread(target=self._forward, args=(child,), daemon=True)
            child.reader.start()
            self.emit("stack", f"started {child.name} (pid {child.process.pid}): {' '.join(child.argv)}")

    def request_stop(self, signum: int, _frame: FrameType | None = None) -> None:
        """Signal handler: ask the main loop to stop everything."""
        self._stop_requested.set()

    def wait(self) -> int:
        """Block until a stop is requested or a child exits; then stop all and return the exit code."""
        exit_code = 0
        while not self._stop_requested.is_set():
            dead = next((c for c in self.children if c.process and c.process.poll() is not None), None)
            if dead is not None:
                assert dead.process is not None
                code = dead.process.returncode
                self.emit("stack", f"{dead.name} exited with code {code}; stopping the others")
                exit_code = code if code and code > 0 else 1
                break
            self._stop_requested.wait(0.2)
        else:
            self.emit("stack", "stop requested; stopping all processes")
        self.stop_all()
        return exit_code

    def stop_all(self) -> None:
        """SIGTERM every live child's process group, then SIGKILL what is left after the grace period."""
        live = [c for c in self.children if c.process and c.process.poll() is None]
        for child in live:
            _signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + self.grace_seconds
        for child in live:
            assert child.process is not None
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.emit("stack", f"{child.name} did not stop in {self.grace_seconds:.0f}s; killing it")
                _signal_group(child, signal.SIGKILL)
                child.process.wait()
        for child in self.children:
            if child.process is not None:
                _signal_group(child, signal.SIGKILL)  # leftovers of the group, e.g. orphaned workers
            if child.reader is not None:
                child.reader.join(timeout=2)

    def run(self) -> int:
        """Install signal handlers, start the children and supervise them until the end."""
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGTERM, self.request_stop)
        try:
            self.start()
        except OSError as exc:
            self.emit("stack", f"could not start: {exc}")
            self.stop_all()
            return 1
        return self.wait()


def _signal_group(child: Child, signum: int) -> None:
    if child.process is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.process.pid, signum)


# Same default as PATCHBAY_SYSTEM_QUEUES in apps/settings.py: one queue per external system.
DEFAULT_SYSTEM_QUEUES = "core,http,crm,credit,billing,network,notify,payment,files,regulator"


def worker_queues() -> str:
    """`engine` (steps, sweeps), `celery` and every external system's queue (PATCHBAY_SYSTEM_QUEUES)."""
    systems = os.environ.get("PATCHBAY_SYSTEM_QUEUES") or DEFAULT_SYSTEM_QUEUES
    queues = ["engine", "celery", *(q.strip() for q in systems.split(",") if q.strip())]
    return ",".join(dict.fromkeys(queues))


def default_children(python: str = sys.executable) -> list[Child]:
    """The Patchbay stack: gunicorn on 127.0.0.1:$PORT, a Celery worker and Celery beat."""
    port = os.environ.get("PORT") or "8000"
    var_dir = Path(os.environ.get("PATCHBAY_VAR_DIR") or ROOT / "var")
    # The timer sweep runs every second: at INFO, worker and beat would log three lines a second.
    celery_level = os.environ.get("CELERY_LOG_LEVEL") or "WARNING"
    return [
        Child("web", [python, "-m", "gunicorn", "apps.wsgi:application", "--bind", f"127.0.0.1:{port}",
                      "--workers", os.environ.get("WEB_WORKERS") or "2", "--threads", "2",
                      "--access-logfile", "-", "--graceful-timeout", "5", "--no-control-socket"]),
        Child("worker", [python, "-m", "celery", "-A", "apps", "worker", "-Q", worker_queues(),
                         "-c", "1", "--pool=solo", "--loglevel", celery_level, "--without-gossip",
                         "--without-mingle"]),
        Child("beat", [python, "-m", "celery", "-A", "apps", "beat", "--loglevel", celery_level,
                       "--schedule", str(var_dir / "celerybeat-schedule"), "--pidfile", ""]),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: `python scripts/run_stack.py`."""
    del argv  # no options yet; PORT, DATABASE_URL, REDIS_URL come from the environment
    supervisor = Supervisor(default_children())
    port = os.environ.get("PORT") or "8000"
    supervisor.emit("stack", f"Patchbay on http://127.0.0.1:{port}/ (Ctrl-C stops everything)")
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
