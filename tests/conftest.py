"""Shared fixtures and the server policy of the test suite.

Server policy: a test that needs PostgreSQL or Redis calls `require_postgres()` / `require_redis()`
(or carries the `postgres` / `redis` marker). On a developer machine without that server it is
skipped with the reason; in CI (`CI=true`) the same condition fails the test, so nothing is ever
skipped there for lack of a server.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

DEMO_PASSWORD = "patchbay-demo"  # the documented demo/test password


def in_ci() -> bool:
    """True in the CI run (`.ci/run` exports CI=true)."""
    return os.environ.get("CI") == "true"


def skip_or_fail(reason: str) -> None:
    """Skip with `reason` on a developer machine; fail with it in CI."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: required servers must be available, not skipped)")
    pytest.skip(reason)


def require_postgres() -> None:
    """Stop the test unless the default database is PostgreSQL and its server answers."""
    from django.db import connection

    if connection.vendor != "postgresql":
        skip_or_fail(
            "needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/patchbay "
            f"(the default database is {connection.vendor})"
        )
    # Probe the server directly: this runs before pytest-django unblocks the test's database.
    import psycopg2

    params = connection.settings_dict
    try:
        probe = psycopg2.connect(
            dbname="postgres", user=params.get("USER") or None, password=params.get("PASSWORD") or None,
            host=params.get("HOST") or None, port=params.get("PORT") or None, connect_timeout=3,
        )
    except psycopg2.OperationalError as exc:
        skip_or_fail(f"needs PostgreSQL, but it does not answer: {exc}".strip())
    else:
        probe.close()


def require_redis() -> str:
    """Stop the test unless REDIS_URL is set and Redis answers a PING; return the URL."""
    import redis

    url = os.environ.get("REDIS_URL", "")
    if not url:
        skip_or_fail("needs Redis: set REDIS_URL=redis://127.0.0.1:6379/0")
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        skip_or_fail(f"needs Redis at {url}, but it does not answer: {exc}")
    finally:
        client.close()
    return url


CHROMIUM = Path(os.environ.get("PATCHBAY_CHROMIUM", "/usr/bin/chromium"))


def require_browser() -> Path:
    """Stop the test unless Debian's Chromium and the `playwright` package are installed; return Chromium.

    Browsers are never downloaded (`playwright install` cannot reach its CDN here): the tests drive the
    system Chromium (`apt-get install chromium`) through the Python package's bundled driver.
    """
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        skip_or_fail("needs the playwright package: pip install -r requirements-dev.txt")
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        skip_or_fail(f"needs Chromium at {CHROMIUM}: apt-get install chromium (or set PATCHBAY_CHROMIUM)")
    return CHROMIUM


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "redis: needs a real Redis (REDIS_URL); skipped with a reason elsewhere, never in CI"
    )
    # Tests speak plain HTTP to the test client; the HTTPS redirect of production settings
    # (SECURE_SSL_REDIRECT) would turn every request into a 301.
    from django.conf import settings

    settings.SECURE_SSL_REDIRECT = False
    # WhiteNoise warns on every request when STATIC_ROOT does not exist (before `collectstatic`).
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres") is not None:
        require_postgres()
    if item.get_closest_marker("redis") is not None:
        require_redis()


@pytest.fixture
def redis_url() -> str:
    """The URL of a live Redis (skips or fails per the server policy)."""
    return require_redis()


@pytest.fixture
def users(db: None, settings: Any) -> dict[str, Any]:
    """One user per role, named after it (`analyst`, `agent`, `ops`, `admin`), password `patchbay-demo`.

    `admin` is in the admin group and a superuser, as `seed_demo_users` makes it.
    """
    from django.contrib.auth import get_user_model

    from apps.core.services import demo_users_seed

    # A fast hasher: the default PBKDF2 costs ~0.3 s per user and per login.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    demo_users_seed(password=DEMO_PASSWORD, reset_passwords=True)
    user_model = get_user_model()
    seeded = user_model.objects.filter(username__in=("analyst", "agent", "ops", "admin"))
    return {user.username: user for user in seeded}


@pytest.fixture
def api_client_for() -> Callable[[Any], APIClient]:
    """`api_client_for(user)`: a DRF APIClient authenticated as `user` (or anonymous for None)."""

    def make(user: Any) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user=user)
        return client

    return make
