"""Readiness checks behind `/readyz`: the database and the Celery broker.

Each check returns None when healthy or a short reason; none of them raises. They are deliberately
cheap (one round trip each, one-second timeouts) because orchestrators call them every few seconds.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import redis
from django.conf import settings
from django.db import DatabaseError, connections

PROBE_TIMEOUT_SECONDS = 1.0


def check_database(alias: str = "default") -> str | None:
    """Run `SELECT 1` on the database."""
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return f"database unavailable: {type(exc).__name__}: {exc}".strip()
    return None


def check_broker() -> str | None:
    """Ping Redis, or check that the file-system broker's folders exist and are writable."""
    url = str(settings.CELERY_BROKER_URL)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return _check_redis(url)
    if url.startswith("filesystem://"):
        return _check_filesystem_broker(settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    return f"broker scheme of {url.split('://', 1)[0]!r} has no readiness check"


def _check_redis(url: str) -> str | None:
    client = redis.Redis.from_url(
        url, socket_connect_timeout=PROBE_TIMEOUT_SECONDS, socket_timeout=PROBE_TIMEOUT_SECONDS
    )
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        return f"redis unavailable: {type(exc).__name__}: {exc}"
    finally:
        client.close()
    return None


def _check_filesystem_broker(options: dict[str, object]) -> str | None:
    keys = ("data_folder_in", "data_folder_out", "processed_folder")
    problems = []
    for key in keys:
        folder = options.get(key)
        if not folder:
            continue
        path = Path(str(folder))
        if not path.is_dir():
            problems.append(f"{key} {path} does not exist")
        elif not os.access(path, os.W_OK | os.X_OK):
            problems.append(f"{key} {path} is not writable")
    return "; ".join(problems) or None


CHECKS: dict[str, Callable[[], str | None]] = {"database": check_database, "broker": check_broker}


def readiness() -> tuple[bool, dict[str, str]]:
    """Run every check; return whether all passed and `{name: "ok" | reason}`."""
    results = {name: check() or "ok" for name, check in CHECKS.items()}
    return all(value == "ok" for value in results.values()), results
