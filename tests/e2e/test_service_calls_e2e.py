"""End to end: a real Celery worker with beat runs service calls through the outbox.

The model calls `core.echo`, then `http.request` against a local HTTP server that first answers 503:
the worker retries with back-off (beat's outbox sweeper re-sends the due retries) until the policy is
spent and an incident opens; the server is fixed (200), ops retry the incident, and the instance
completes. Like tests/e2e/test_worker_e2e.py, it needs PostgreSQL (the worker is another process).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from apps.celery import app as celery_app
from tests.apps.instances.samples import END, START, chain, model
from tests.apps.integrations.httpserver import Script, serving
from tests.apps.integrations.samples import service
from tests.conftest import require_postgres
from tests.e2e.test_worker_e2e import CELERY, ROOT, stop_worker, worker_env

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WAIT_SECONDS = 25
ECHO_THEN_HTTP = model(
    "echo_then_http",
    f"""
{START}
{service("echo", "core.echo", {"order": "order"}, "echoed")}
{service("notify", "http.request", {"url": "url", "method": "'POST'", "json": "echoed"}, "notified")}
{END}
{chain("start", "echo", "notify", "end")}
""",
)


@pytest.fixture
def shared_broker(tmp_path: Path) -> Iterator[None]:
    """Send this process's Celery messages where the worker listens (Redis, or its broker folders)."""
    saved = dict(celery_app.conf.broker_transport_options or {})
    if not celery_app.conf.broker_url.startswith("redis"):
        folder = str(tmp_path / "broker" / "out")
        celery_app.conf.broker_transport_options = {
            **saved, "data_folder_in": folder, "data_folder_out": folder,
            "processed_folder": str(tmp_path / "broker" / "processed"),
        }
        celery_app._after_fork()
    yield
    celery_app.conf.broker_transport_options = saved
    celery_app._after_fork()


def start_worker(var_dir: Path) -> tuple[Any, Path]:
    import subprocess

    env = worker_env(var_dir)
    # Fast retries for the test: 3 attempts, ~0.3 s apart; a lost message is re-sent after 2 s.
    env["PATCHBAY_RETRY_POLICIES"] = json.dumps({"http": {"max_attempts": 3, "base_delay": 0.3, "jitter": 0.1}})
    env["PATCHBAY_OUTBOX_PENDING_GRACE_SECONDS"] = "2"
    log = var_dir / "worker.log"
    process = subprocess.Popen(
        [str(CELERY), "-A", "apps", "worker", "-B", "-Q", "engine,celery,core,http", "--pool=solo", "-c", "1",
         "--loglevel=INFO", "-s", str(var_dir / "celerybeat-schedule")],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    return process, log


def wait_for(client: APIClient, url: str, done: Any, process: Any, log: Path) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    body: Any = None
    while time.monotonic() < deadline:
        body = client.get(url).json()
        if done(body):
            return body
        if process.poll() is not None:
            pytest.fail(f"the worker exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        time.sleep(0.3)
    pytest.fail(f"not done within {WAIT_SECONDS}s: {body}\nworker log:\n{log.read_text()[-4000:]}")


def test_a_failing_call_is_retried_until_an_incident_and_completes_after_the_retry(
    users: dict[str, Any], api_client_for: Any, tmp_path: Path, shared_broker: None
) -> None:
    require_postgres()
    analyst, agent, ops = (api_client_for(users[name]) for name in ("analyst", "agent", "ops"))
    upload = SimpleUploadedFile("echo_then_http.bpmn", ECHO_THEN_HTTP, content_type="application/xml")
    assert analyst.post("/api/v1/definitions/", {"file": upload}, format="multipart").status_code == 201

    process, log = start_worker(tmp_path)
    try:
        with serving(Script(status=503, body={"error": "maintenance"})) as server:
            started = agent.post("/api/v1/instances/", {"process_key": "echo_then_http",
                                 "variables": {"order": 42, "url": server.url}}, format="json")
            assert started.status_code == 201, started.json()
            url = f"/api/v1/instances/{started.json()['id']}/"
            body = wait_for(ops, url, lambda b: b["incidents"], process, log)

            [incident] = body["incidents"]
            assert (incident["kind"], incident["attempts"]) == ("service_call_failed", 3)
            assert "HTTP 503" in incident["message"]
            assert body["active_activities"] == ["notify"]
            assert len(server.requests) == 3

            server.status, server.body = 200, {"sent": True}
            retried = ops.post(f"/api/v1/incidents/{incident['id']}/retry/", {}, format="json")
            assert retried.status_code == 200, retried.json()
            body = wait_for(ops, url, lambda b: b["status"] != "waiting", process, log)
    finally:
        stop_worker(process)

    assert body["status"] == "completed", body
    assert body["variables"]["echoed"] == {"order": 42}
    assert body["variables"]["notified"]["json"] == {"sent": True}
    assert [i["status"] for i in body["incidents"]] == ["resolved"]
    keys = {r["headers"]["Idempotency-Key"] for r in server.requests}
    assert len(keys) == 1 and server.requests[-1]["json"] == {"order": 42}
