"""End to end: a real Celery worker with beat runs an instance through a timer to completion.

The worker is a separate process on the same (PostgreSQL) test database, so this proves the whole
chain outside the test process: the API starts the instance, beat sends `fire_due_timers` every
second, the worker's sweep fires the `PT1S` timer, and the instance runs through the parallel branches.
SQLite's test database lives in memory and cannot be shared with another process: skipped there
(failed in CI) through the server policy of tests/conftest.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from rest_framework.test import APIClient

from tests.apps.instances import samples
from tests.conftest import require_postgres

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
CELERY = ROOT / ".venv" / "bin" / "celery"
WAIT_SECONDS = 60


def worker_env(var_dir: Path) -> dict[str, str]:
    """The worker's environment: this test database, and Redis if configured, else a private broker."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "apps.settings",
        "DATABASE_URL": f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "PATCHBAY_VAR_DIR": str(var_dir),
        "SECRET_KEY": "e2e-test-only-secret-key-not-used-anywhere-else-0123456789",
        "PYTHONUNBUFFERED": "1",
    }
    if not os.environ.get("REDIS_URL"):
        env.pop("REDIS_URL", None)
        for folder in ("broker/out", "broker/processed"):
            (var_dir / folder).mkdir(parents=True, exist_ok=True)
    return env


def start_worker(var_dir: Path) -> tuple[subprocess.Popen[bytes], Path]:
    log = var_dir / "worker.log"
    process = subprocess.Popen(
        [
            str(CELERY),
            "-A",
            "apps",
            "worker",
            "-B",
            "-Q",
            "engine,celery",
            "--pool=solo",
            "-c",
            "1",
            "--loglevel=INFO",
            "-s",
            str(var_dir / "celerybeat-schedule"),
        ],
        cwd=ROOT,
        env=worker_env(var_dir),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return process, log


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def wait_for_end(client: APIClient, url: str, process: subprocess.Popen[bytes], log: Path) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_SECONDS
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = client.get(url).json()
        if body["status"] not in ("running", "waiting"):
            return body
        if process.poll() is not None:
            pytest.fail(f"the worker exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        time.sleep(0.5)
    pytest.fail(f"not finished within {WAIT_SECONDS}s: {body}\nworker log:\n{log.read_text()[-4000:]}")


def test_worker_beat_fires_the_timer_and_the_instance_completes(
    users: dict[str, Any], api_client_for: Any, tmp_path: Path
) -> None:
    require_postgres()
    assert CELERY.exists(), f"no celery executable at {CELERY} ({sys.executable})"
    analyst, agent = api_client_for(users["analyst"]), api_client_for(users["agent"])
    upload = SimpleUploadedFile("order_flow.bpmn", samples.ORDER_FLOW, content_type="application/xml")
    deployed = analyst.post("/api/v1/definitions/", {"file": upload}, format="multipart")
    assert deployed.status_code == 201, deployed.json()

    process, log = start_worker(tmp_path)
    try:
        started = agent.post(
            "/api/v1/instances/", {"process_key": "order_flow", "variables": {"quantity": 5}}, format="json"
        )
        assert started.status_code == 201, started.json()
        assert started.json()["status"] == "waiting"
        assert started.json()["active_activities"] == ["cool_down"]
        body = wait_for_end(agent, f"/api/v1/instances/{started.json()['id']}/", process, log)
    finally:
        stop_worker(process)

    assert body["status"] == "completed", body
    done = body["completed_activities"]
    assert done[:5] == ["start", "price_order", "check_amount", "big_order", "merge"]
    assert "small_order" not in done
    assert {"cool_down", "split", "reserve_stock", "notify_customer", "join", "end"} <= set(done)
    assert done.index("cool_down") < done.index("split") < done.index("join") < done.index("end")
    assert done.index("reserve_stock") < done.index("join") and done.index("notify_customer") < done.index(
        "join"
    )
    assert body["variables"]["size"] == "big"
    events = agent.get(f"/api/v1/instances/{body['id']}/events/").json()["results"]
    fired = [e for e in events if e["type"] == "timer.fired"]
    assert [(e["activity_id"], e["actor"]) for e in fired] == [("cool_down", "system")]
