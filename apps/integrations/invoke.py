"""Running a connector: parameter validation, the timeout, and classifying what came back.

Runs in a worker outside any transaction or lock. Everything that can go wrong becomes an `Outcome`,
so the caller only records it; nothing here raises.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from apps.integrations import metrics, registry
from apps.integrations.contract import CallContext, ConnectorError
from apps.integrations.models import OutboundCall

logger = logging.getLogger(__name__)

# A result is stored on the outbox row and in the instance's variables: keep it reasonable.
MAX_RESULT_BYTES = 1024 * 1024
# The connector is asked to honour the timeout itself; this is how much longer the worker waits.
TIMEOUT_SLACK_SECONDS = 1.0

OutcomeKind = Literal["result", "bpmn_error", "retryable", "permanent"]


@dataclass(frozen=True)
class Outcome:
    """What one attempt produced. `system_ok` feeds the breaker (None: says nothing of the system)."""

    kind: OutcomeKind
    result: Any = None
    error_code: str = ""
    message: str = ""
    system_ok: bool | None = None


class _TimedOut(Exception):
    pass


class _Runner:
    """A daemon thread that runs connector calls one at a time, kept between calls.

    Starting a thread per call cost more CPU than many connector calls themselves, and added its
    start-up to every call's latency.
    """

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[tuple[Callable[[], Any], threading.Event, dict[str, Any]]] = queue.SimpleQueue()
        threading.Thread(target=self._loop, name="connector-call", daemon=True).start()

    def _loop(self) -> None:
        while True:
            function, done, box = self.jobs.get()
            try:
                box["result"] = function()
            except BaseException as exc:  # handed to the caller's thread
                box["error"] = exc
            done.set()


_idle: list[_Runner] = []
_idle_lock = threading.Lock()
# Threads do not survive a fork (Celery's prefork pool): a child must not wait on its parent's runners.
os.register_at_fork(after_in_child=_idle.clear)


def _take_runner() -> _Runner:
    with _idle_lock:
        if _idle:
            return _idle.pop()
    return _Runner()


def _give_back(runner: _Runner) -> None:
    with _idle_lock:
        _idle.append(runner)


def _run_with_timeout(function: Callable[[], Any], timeout: float) -> Any:
    """Run `function` on a connector thread and give up waiting after `timeout` seconds.

    A connector that ignores its timeout cannot hold the worker: its thread is abandoned (daemon, so
    it never blocks shutdown, and never reused) and its late result is dropped.
    """
    runner = _take_runner()
    box: dict[str, Any] = {}
    done = threading.Event()
    runner.jobs.put((function, done, box))
    if not done.wait(timeout):
        raise _TimedOut
    _give_back(runner)
    if "error" in box:
        raise box["error"]
    return box.get("result")


def invoke(call: OutboundCall, operation: registry.Operation | None) -> Outcome:
    """Validate the parameters, call the connector within its timeout and classify the answer."""
    started = time.monotonic()
    outcome = _attempt(call, operation)
    if operation is not None:
        metrics.observe_call(operation.name, outcome.kind, time.monotonic() - started)
    return outcome


def _attempt(call: OutboundCall, operation: registry.Operation | None) -> Outcome:
    if operation is None:
        return Outcome("permanent", message=f"unknown operation {call.operation!r} (no connector registered)")
    try:
        parameters = registry.parameters_validate(operation, call.parameters)
    except ConnectorError as exc:
        return Outcome("permanent", message=exc.message)
    context = CallContext(
        operation=operation.name,
        idempotency_key=call.idempotency_key,
        timeout=operation.timeout,
        attempt=call.attempts,
        instance_id=str(call.instance_id),
        activity_id=call.activity_id,
    )
    try:
        result = _run_with_timeout(
            lambda: operation.connector.call(operation.short_name, parameters, context),
            operation.timeout + TIMEOUT_SLACK_SECONDS,
        )
    except ConnectorError as exc:
        return _classify(exc)
    except _TimedOut:
        return Outcome("retryable", message=f"no answer within {operation.timeout:g}s", system_ok=False)
    except Exception as exc:
        logger.exception("connector %s crashed", operation.name, extra={"instance_id": str(call.instance_id)})
        return Outcome("permanent", message=f"the connector crashed: {type(exc).__name__}: {exc}")
    return _fitted(result)


def _classify(exc: ConnectorError) -> Outcome:
    if exc.bpmn_error_code:
        return Outcome("bpmn_error", error_code=exc.bpmn_error_code, message=exc.message, system_ok=True)
    if exc.retryable:
        return Outcome("retryable", message=exc.message, system_ok=False)
    # The system answered (a 4xx, a refusal): it is up, the request is what is wrong.
    return Outcome("permanent", message=exc.message, system_ok=True)


def _fitted(result: Any) -> Outcome:
    """The result as plain JSON, or a permanent failure when it cannot be stored as a variable."""
    try:
        encoded = json.dumps(result, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return Outcome("permanent", message=f"the result is not JSON-serialisable: {exc}", system_ok=True)
    if len(encoded) > MAX_RESULT_BYTES:
        size = f"{len(encoded)} bytes, more than {MAX_RESULT_BYTES}"
        return Outcome("permanent", message=f"the result is too large ({size})", system_ok=True)
    return Outcome("result", result=json.loads(encoded), system_ok=True)
