"""`/api/v1/systems/` and `/api/v1/service-calls/`: who may read, who may act, what they see."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from apps.instances.models import ProcessInstance
from apps.integrations.models import ExternalSystem
from tests.apps.integrations import samples
from tests.apps.integrations.conftest import only_call

Start = Callable[..., ProcessInstance]
SYSTEMS = "/api/v1/systems/"
CALLS = "/api/v1/service-calls/"


@pytest.mark.parametrize("role", ["agent", "analyst", "ops", "admin"])
def test_every_signed_in_user_reads_the_systems(start: Start, clients: dict[str, APIClient], role: str) -> None:
    start(samples.ECHO, value=1)

    response = clients[role].get(SYSTEMS)

    assert response.status_code == 200
    systems = {s["name"]: s for s in response.json()}
    assert {"core", "http"} <= systems.keys()
    core = systems["core"]
    assert (core["paused"], core["breaker_state"], core["pending"], core["running"]) == (False, "closed", 1, 0)
    assert core["limits"] == {"max_concurrency": 8, "failure_threshold": 5, "failure_window_seconds": 60.0,
                              "cooldown_seconds": 30.0}
    assert core["queue"] == "core" and core["operations"] == ["core.echo", "core.fail"]


def test_anonymous_callers_get_401(clients: dict[str, APIClient]) -> None:
    assert clients["anonymous"].get(SYSTEMS).status_code == 401
    assert clients["anonymous"].post(f"{SYSTEMS}core/pause/").status_code == 401
    assert clients["anonymous"].get(CALLS).status_code == 401


@pytest.mark.parametrize("role", ["agent", "analyst"])
def test_only_ops_and_admins_pause_and_resume(clients: dict[str, APIClient], role: str) -> None:
    response = clients[role].post(f"{SYSTEMS}http/pause/")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert not ExternalSystem.objects.filter(name="http", paused=True).exists()


def test_ops_pause_and_resume_a_system(clients: dict[str, APIClient]) -> None:
    paused = clients["ops"].post(f"{SYSTEMS}http/pause/")
    again = clients["admin"].post(f"{SYSTEMS}http/pause/")
    detail = clients["agent"].get(f"{SYSTEMS}http/")
    resumed = clients["ops"].post(f"{SYSTEMS}http/resume/")

    assert (paused.status_code, paused.json()["paused"]) == (200, True)
    assert (again.status_code, detail.json()["paused"]) == (200, True)
    assert (resumed.status_code, resumed.json()["paused"]) == (200, False)


def test_an_unknown_system_is_404(clients: dict[str, APIClient]) -> None:
    assert clients["ops"].post(f"{SYSTEMS}ledger/pause/").status_code == 404
    assert clients["agent"].get(f"{SYSTEMS}ledger/").json()["error"]["code"] == "not_found"


def test_ops_list_service_calls_filtered_by_instance_and_status(start: Start, clients: dict[str, APIClient]) -> None:
    mine = start(samples.ECHO, value=1)
    start(samples.ECHO, value=2)
    call = only_call(mine)

    body = clients["ops"].get(CALLS, {"instance_id": str(mine.pk), "status": "pending"}).json()

    [row] = body["results"]
    assert row["id"] == call.pk and row["instance_id"] == str(mine.pk)
    assert {"activity_id", "operation", "status", "attempts", "last_error", "idempotency_key",
            "next_attempt_at"} <= row.keys()
    assert clients["ops"].get(CALLS).json()["count"] == 2
    assert clients["ops"].get(CALLS, {"status": "running"}).json()["count"] == 0
    assert clients["ops"].get(CALLS, {"status": "bogus"}).status_code == 400
    detail = clients["admin"].get(f"{CALLS}{call.pk}/").json()
    assert detail["parameters"] == {"value": 1}


def test_service_calls_are_for_ops_and_admins(start: Start, clients: dict[str, APIClient]) -> None:
    call = only_call(start(samples.ECHO, value=1))

    assert clients["agent"].get(CALLS).status_code == 403
    assert clients["analyst"].get(f"{CALLS}{call.pk}/").status_code == 403
    assert clients["ops"].get(f"{CALLS}999999/").status_code == 404
