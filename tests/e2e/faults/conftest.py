"""Fixtures of the fault scenarios: the server policy, a private Redis, the broker of this process,
workers that are always stopped, deployed models and instance starts.

Needs PostgreSQL (the workers are other processes on the test database) and the `redis-server`
binary: skipped with the reason on a developer machine without them, failed in CI.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from apps.celery import app as celery_app
from apps.definitions.services import definition_deploy
from apps.instances import runtime
from apps.instances.services import instance_start
from tests.conftest import require_postgres
from tests.e2e.faults.harness import (
    PrivateRedis,
    Worker,
    database_url,
    require_redis_server,
    start_worker,
    worker_env,
)


@pytest.fixture(autouse=True)
def _servers_and_fresh_caches() -> Iterator[None]:
    require_postgres()
    require_redis_server()
    # Row ids repeat after each test's flush: start with empty per-process spec caches.
    runtime.clear_caches()
    yield
    runtime.clear_caches()


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A private redis-server for the test, and this process's Celery app sending to it."""
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    saved = (celery_app.conf.broker_url, dict(celery_app.conf.broker_transport_options or {}))
    celery_app.conf.broker_url = server.url
    # As in production settings: the Redis transport's visibility timeout is an hour.
    celery_app.conf.broker_transport_options = {"visibility_timeout": 3600}
    celery_app._after_fork()  # drop pooled connections to the previous broker
    yield server
    celery_app.conf.broker_url, celery_app.conf.broker_transport_options = saved
    celery_app._after_fork()
    server.stop()


@pytest.fixture
def workers(tmp_path: Path, redis: PrivateRedis) -> Iterator[Callable[..., Worker]]:
    """`workers(name, db_url=..., env=..., **start_worker options)`: start one; all stop at teardown.

    Stopped before pytest-django flushes the test database (this fixture is set up after it).
    """
    started: list[Worker] = []

    def start(
        name: str = "w1", *, db_url: str | None = None, env: dict[str, str] | None = None, **options: Any
    ) -> Worker:
        environment = worker_env(
            database_url=db_url or database_url(), redis_url=redis.url, var_dir=tmp_path, extra=env
        )
        worker = start_worker(name, environment, tmp_path, **options)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def deploy(transactional_db: None) -> Callable[[bytes], str]:
    """Deploy a model (validated as an upload) and return its process key."""

    def do(content: bytes) -> str:
        definition, _ = definition_deploy(filename="fault.bpmn", content=content, deployed_by=None)
        return definition.key

    return do


@pytest.fixture
def start_instances(transactional_db: None) -> Callable[..., list[Any]]:
    """`start_instances(key, n, **variables)`: start n instances through the service; their ids."""

    def do(process_key: str, count: int, **variables: Any) -> list[Any]:
        ids = []
        for n in range(count):
            instance = instance_start(
                process_key=process_key, variables={**variables, "order": {"n": n}}, started_by=None
            )
            ids.append(instance.pk)
        return ids

    return do
