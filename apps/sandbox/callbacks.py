"""Asynchronous answers of the simulated systems: a message posted to Patchbay's `/api/v1/messages/` later.

A daemon thread per callback waits the configured delay, then posts; it retries (bounded) while
Patchbay answers 404 (the instance is not waiting for the message yet: its service call result may
still be on its way), 409 (instance busy), 5xx or cannot be reached. It never touches the database:
the URL and the token are taken in the request that schedules it, and the outcome was stored then.

Threads, not a Celery queue: the sandbox then needs no worker of its own, in-app or standalone. A
callback pending when the process stops is lost - acceptable for a simulator, and the process model
sees what it would see from a real system that never answers (its timer boundary event fires).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction

from apps.sandbox.services import callback_token

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({404, 409, 429, 500, 502, 503, 504})
MAX_ATTEMPTS = 12
FIRST_BACKOFF = 0.25
MAX_BACKOFF = 5.0
REQUEST_TIMEOUT = 10.0


def message_send_later(*, name: str, correlation: dict[str, Any], variables: dict[str, Any], delay: float) -> None:
    """Post the message `delay` seconds after the current transaction commits (at once outside one)."""
    url = settings.PATCHBAY_CALLBACK_URL.rstrip("/") + "/api/v1/messages/"
    body = {"name": name, "correlation": correlation, "variables": variables}
    token = callback_token()

    def start() -> None:
        thread = threading.Thread(target=_deliver, args=(url, token, body, delay), name=f"sandbox-{name}", daemon=True)
        thread.start()

    transaction.on_commit(start)


def _deliver(url: str, token: str, body: dict[str, Any], delay: float) -> bool:
    """Wait, then post with bounded retries; True when Patchbay took the message."""
    time.sleep(delay)
    backoff = FIRST_BACKOFF
    for attempt in range(1, MAX_ATTEMPTS + 1):
        status, detail = _post(url, token, body)
        if status == 200:
            logger.info("sandbox callback %s delivered", body["name"], extra={"data": body})
            return True
        if status is not None and status not in RETRY_STATUSES:
            break
        logger.info("sandbox callback %s: attempt %d got %s", body["name"], attempt, status or detail)
        time.sleep(backoff)
        backoff = min(MAX_BACKOFF, backoff * 2)
    logger.warning("sandbox callback %s not delivered: %s %s", body["name"], status, detail[:200])
    return False


def _post(url: str, token: str, body: dict[str, Any]) -> tuple[int | None, str]:
    try:
        response = httpx.post(url, json=body, headers={"Authorization": f"Token {token}"}, timeout=REQUEST_TIMEOUT)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"
    return response.status_code, response.text
