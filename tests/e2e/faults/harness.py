"""The moving parts of the fault tests: a private Redis, real Celery workers, a TCP proxy in front of
PostgreSQL and a local "external system" that dedupes by Idempotency-Key like a payment gateway.

Everything here runs real processes and sockets on 127.0.0.1; nothing is mocked. Each piece is a
context manager or has an explicit stop, and the fixtures of `conftest.py` stop whatever a test
leaves running, so a failing scenario never leaves a worker or a Redis behind.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from apps.instances.models import ProcessInstance
from tests.conftest import skip_or_fail

ROOT = Path(__file__).resolve().parents[3]
CELERY = ROOT / ".venv" / "bin" / "celery"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
SECRET_KEY = "e2e-faults-only-secret-key-not-used-anywhere-else-0123456789"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def require_redis_server() -> str:
    """The `redis-server` binary the scenarios start privately (skip on a dev machine, fail in CI)."""
    if not Path(REDIS_SERVER).is_file():
        skip_or_fail("needs the redis-server binary (apt-get install redis-server) to start a private Redis")
    return REDIS_SERVER


def database_url(host: str | None = None, port: int | None = None) -> str:
    """The URL of the test database for a worker (optionally through a proxy at `host:port`)."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{host or db['HOST'] or '127.0.0.1'}:{port or db['PORT'] or 5432}/{db['NAME']}"


def statuses(ids: list[Any]) -> dict[str, int]:
    """How many of the instances `ids` are in each status."""
    counts: dict[str, int] = {}
    for status in ProcessInstance.objects.filter(pk__in=ids).values_list("status", flat=True):
        counts[status] = counts.get(status, 0) + 1
    return counts


def all_finished(ids: list[Any]) -> bool:
    """True when none of the instances `ids` is running or waiting any more."""
    return not ProcessInstance.objects.filter(pk__in=ids, status__in=("running", "waiting")).exists()


class Clock:
    """Seconds since the scenario started, for its timing log."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()

    def __call__(self) -> float:
        return round(time.monotonic() - self.t0, 1)


# --- a private Redis --------------------------------------------------------------------------------


class PrivateRedis:
    """A `redis-server` of this test only, on a free port, keeping nothing on disk.

    Private so that no other worker (another engineer's e2e run on the shared Redis) consumes our
    messages, and so that a restart really loses every queued and unacknowledged message.
    """

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        log = (self.workdir / f"redis-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(self.ping, "the private redis-server did not answer PING", timeout=15)

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: the server is gone at once, with everything it held."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        self.kill()


# --- real Celery workers ----------------------------------------------------------------------------


@dataclass
class Worker:
    """A `celery worker` process group (its pool children and embedded beat die with it)."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, chars: int = 4000) -> str:
        try:
            return f"--- {self.name} log ({self.log}) ---\n{self.log.read_text(errors='replace')[-chars:]}"
        except OSError as exc:
            return f"--- {self.name}: no log ({exc}) ---"

    def task_results(self, task: str) -> list[str]:
        """The return values the worker logged for `task` (in order), e.g. `['not_open', 'result']`."""
        pattern = re.compile(rf"Task {re.escape(task)}\[[^\]]+\] succeeded in [0-9.e-]+s: '?([^'\"]*)'?")
        return pattern.findall(self.log.read_text(errors="replace"))

    def wait_ready(self, timeout: float = 90) -> None:
        wait_until(
            lambda: " ready." in self.log.read_text(errors="replace"),
            f"{self.name} is not ready",
            timeout=timeout,
            workers=[self],
        )

    def kill(self) -> None:
        """SIGKILL the whole group: the worker, its pool processes and its beat, mid-task."""
        if self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=15)

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        else:
            # A killed worker may leave pool children behind (orphans of the same group).
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)


def worker_env(
    *, database_url: str, redis_url: str, var_dir: Path, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The worker's environment: the test database (or its proxy), the private Redis, fast sweeps."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "apps.settings",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "PATCHBAY_VAR_DIR": str(var_dir),
            "SECRET_KEY": SECRET_KEY,
            "PYTHONUNBUFFERED": "1",
            # Recovery timings of the outbox, short for the tests (production: 30 s each).
            "PATCHBAY_OUTBOX_PENDING_GRACE_SECONDS": "2",
            "PATCHBAY_OUTBOX_RUNNING_GRACE_SECONDS": "2",
            # http.request gives up after 5 s here (30 s in production), so a lost call's lease is 7 s.
            "PATCHBAY_OPERATION_TIMEOUTS": json.dumps({"http.request": 5}),
            "PATCHBAY_RETRY_POLICIES": json.dumps({"http": {"max_attempts": 8, "base_delay": 0.5, "max_delay": 2}}),
        }
    )
    env.update(extra or {})
    return env


def start_worker(
    name: str,
    env: dict[str, str],
    var_dir: Path,
    *,
    queues: str = "engine,celery,core,http",
    pool: str = "solo",
    concurrency: int = 1,
    beat: bool = True,
) -> Worker:
    """Start `celery worker` (with embedded beat unless `beat=False`) and return once it is ready."""
    var_dir.mkdir(parents=True, exist_ok=True)
    log = var_dir / f"{name}.log"
    args = [
        str(CELERY),
        "-A",
        "apps",
        "worker",
        "-n",
        f"{name}@%h",
        "-Q",
        queues,
        f"--pool={pool}",
        "-c",
        str(concurrency),
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    if beat:
        args += ["-B", "-s", str(var_dir / f"{name}-beat-schedule")]
    process = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True
    )
    worker = Worker(name, process, log)
    worker.wait_ready()
    return worker


# --- waiting ----------------------------------------------------------------------------------------


def wait_until(
    condition: Callable[[], Any],
    what: str,
    *,
    timeout: float,
    workers: list[Worker] | None = None,
    interval: float = 0.25,
    describe: Callable[[], str] | None = None,
) -> Any:
    """Poll `condition` until it is truthy (return it) or fail after `timeout` s with the workers' logs."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        dead = [w for w in workers or [] if not w.alive()]
        if dead or time.monotonic() > deadline:
            reason = f"{dead[0].name} exited with {dead[0].process.returncode}" if dead else f"not within {timeout:g}s"
            details = describe() if describe else ""
            logs = "\n".join(w.tail() for w in workers or [])
            pytest.fail(f"{what} ({reason})\n{details}\n{logs}")
        time.sleep(interval)


# --- the external system ----------------------------------------------------------------------------


@dataclass
class Effect:
    """What the system did once for an Idempotency-Key, and the answer every replay gets."""

    effect_id: int
    key: str
    done: threading.Event = field(default_factory=threading.Event)
    answer: dict[str, Any] = field(default_factory=dict)


@dataclass
class Received:
    key: str
    at: float  # time.time(), comparable with the database's timestamps
    replay: bool


class ExternalSystem:
    """A local HTTP "payment gateway": one effect per Idempotency-Key, replays answered from memory.

    Every request is recorded (`requests`); the first request of a key performs the effect (counted in
    `effects`), waits `delay(key)` seconds and answers `{"effect_id", "key"}`; a later request with the
    same key waits for that answer and gets the same body (`replay: true`) - what a real gateway does.
    `arrived` is set at every request, so a test can act while a call is in flight.
    """

    def __init__(self, delay: float | Callable[[str], float] = 0.0) -> None:
        self.delay = delay
        self.requests: list[Received] = []
        self.effects: dict[str, Effect] = {}
        # The key of every effect performed, in order (a gateway's ledger).
        self.performed: list[str] = []
        self.arrived = threading.Event()
        self.url = ""
        self._lock = threading.Lock()

    def delay_for(self, key: str) -> float:
        return self.delay(key) if callable(self.delay) else float(self.delay)

    def requests_per_key(self) -> dict[str, int]:
        with self._lock:
            counts: dict[str, int] = {}
            for request in self.requests:
                counts[request.key] = counts.get(request.key, 0) + 1
            return counts

    def handle(self, key: str) -> dict[str, Any]:
        with self._lock:
            effect = self.effects.get(key)
            replay = effect is not None
            if effect is None:
                effect = self.effects[key] = Effect(effect_id=len(self.effects) + 1, key=key)
                self.performed.append(key)
            self.requests.append(Received(key, time.time(), replay))
        self.arrived.set()
        if replay:
            effect.done.wait(30)
            return {**effect.answer, "replay": True}
        time.sleep(self.delay_for(key))
        effect.answer = {"effect_id": effect.effect_id, "key": key}
        effect.done.set()
        return {**effect.answer, "replay": False}


@contextmanager
def serving(system: ExternalSystem) -> Iterator[ExternalSystem]:
    """Serve `system` on a free port of 127.0.0.1 while the block runs; `system.url` is its address."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            key = self.headers.get("Idempotency-Key")
            if not key:
                self._send(400, {"error": "idempotency_key_required"})
                return
            self._send(200, system.handle(key))

        def _send(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the caller is gone (killed worker, timed-out call): the effect stays done

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256

    server = Server(("127.0.0.1", 0), Handler)
    system.url = f"http://127.0.0.1:{server.server_address[1]}/charges"
    thread = threading.Thread(target=server.serve_forever, name="external-system", daemon=True)
    thread.start()
    try:
        yield system
    finally:
        server.shutdown()
        server.server_close()


def seeded_delays(seed: int, low: float, high: float) -> Callable[[str], float]:
    """A delay per Idempotency-Key in `[low, high]`, the same for a key on every run (seeded RNG)."""

    def delay(key: str) -> float:
        return random.Random(f"{seed}:{key}").uniform(low, high)

    return delay


# --- a TCP proxy in front of PostgreSQL -------------------------------------------------------------


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target`; `cut()` drops every connection and refuses new ones.

    `cut()` closes the listening socket (a new connection gets "connection refused") and both ends of
    every open connection (the client sees "server closed the connection unexpectedly"); `restore()`
    listens on the same port again.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.accepted = 0
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.settimeout(0.2)
        self._listener = listener
        self._stop.clear()
        self._thread = threading.Thread(target=self._accept_loop, args=(listener,), name="pg-proxy", daemon=True)
        self._thread.start()

    def _accept_loop(self, listener: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            with self._lock:
                self.accepted += 1
                self._conns.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self._drop(source, sink)

    def _drop(self, *socks: socket.socket) -> None:
        with self._lock:
            for sock in socks:
                self._conns.discard(sock)
        for sock in socks:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def cut(self) -> None:
        """The database is unavailable: refuse new connections and drop the open ones."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            open_now = list(self._conns)
        self._drop(*open_now)

    def restore(self) -> None:
        self.start()

    def stop(self) -> None:
        self.cut()
