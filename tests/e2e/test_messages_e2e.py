"""End to end with a real worker and beat: start timers spawn instances, messages route between instances.

The worker is a separate process on the same (PostgreSQL) test database (see test_worker_e2e.py).
Thrown messages are enqueued by this test process after commit; with REDIS_URL the worker gets them
at once, without it the worker's backstop sweep routes them within `PENDING_MESSAGE_GRACE`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from apps.instances.models import ProcessInstance
from tests.apps.instances import messaging_samples as ms
from tests.conftest import require_postgres
from tests.e2e.test_worker_e2e import CELERY, start_worker, stop_worker

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WAIT_SECONDS = 60


def upload(client: APIClient, name: str, content: bytes) -> None:
    file = SimpleUploadedFile(name, content, content_type="application/xml")
    answer = client.post("/api/v1/definitions/", {"file": file}, format="multipart")
    assert answer.status_code == 201, answer.json()


def wait_until(condition: Any, what: str, worker: Any, log: Path) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        if worker.poll() is not None:
            pytest.fail(f"the worker exited with {worker.returncode}:\n{log.read_text()[-4000:]}")
        time.sleep(0.5)
    pytest.fail(f"{what} within {WAIT_SECONDS}s\nworker log:\n{log.read_text()[-4000:]}")


def test_a_cycle_start_event_spawns_instances_by_itself(
    users: dict[str, Any], api_client_for: Any, tmp_path: Path
) -> None:
    require_postgres()
    assert CELERY.exists(), f"no celery executable at {CELERY} ({sys.executable})"
    upload(api_client_for(users["analyst"]), "ticker.bpmn", ms.scheduled("ticker", "R/PT2S"))

    worker, log = start_worker(tmp_path)
    try:
        ticks = ProcessInstance.objects.filter(process_key="ticker", status="completed")
        wait_until(lambda: ticks.count() >= 2, "two timer-started instances did not complete", worker, log)
    finally:
        stop_worker(worker)

    keys = list(ProcessInstance.objects.filter(process_key="ticker").values_list("business_key", flat=True))
    assert len(keys) == len(set(keys))  # one instance per occurrence
    assert all(key.startswith("tick@") for key in keys)


def test_messages_through_the_api_and_between_instances(
    users: dict[str, Any], api_client_for: Any, tmp_path: Path
) -> None:
    require_postgres()
    analyst, ops = api_client_for(users["analyst"]), api_client_for(users["ops"])
    for name, content in (("wait_payment.bpmn", ms.WAIT_PAYMENT), ("payer.bpmn", ms.PAYER)):
        upload(analyst, name, content)
    waiting = [
        ops.post("/api/v1/instances/", {"process_key": "wait_payment", "variables": {"order_id": oid}}, format="json")
        for oid in ("o-1", "o-2")
    ]
    assert [w.json()["status"] for w in waiting] == ["waiting", "waiting"]
    first_id, second_id = (w.json()["id"] for w in waiting)

    worker, log = start_worker(tmp_path)
    try:
        # From outside, through the API: delivered at once to the instance that waits for it.
        answer = ops.post("/api/v1/messages/", {"name": "payment_confirmed", "correlation": {"order_id": "o-1"},
                                                "variables": {"paid": 5}}, format="json")
        assert answer.json() == {"instance_ids": [first_id], "action": "delivered"}
        assert ops.get(f"/api/v1/instances/{first_id}/").json()["status"] == "completed"
        # Thrown by another instance: routed by the worker after the thrower's step committed.
        payer = ops.post("/api/v1/instances/", {"process_key": "payer",
                                                "variables": {"order_id": "o-2", "amount": 7}}, format="json")
        assert payer.json()["status"] == "completed"
        second = ProcessInstance.objects.filter(pk=second_id)
        wait_until(lambda: second.get().status == "completed", "the thrown message was not delivered", worker, log)
    finally:
        stop_worker(worker)

    body = ops.get(f"/api/v1/instances/{second_id}/").json()
    assert body["variables"]["recorded"] == ["o-2", 7]
    assert ops.get(f"/api/v1/instances/{first_id}/").json()["variables"]["recorded"] == ["o-1", 5]
