"""`/api/v1/incidents/`: listing (ops, admin) and retrying the failed step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.definitions.models import ProcessDefinition
from apps.instances.models import ProcessInstance
from tests.apps.instances import samples

Deploy = Callable[[bytes], ProcessDefinition]
URL = "/api/v1/incidents/"


@pytest.fixture
def failed_ratio(deploy: Deploy, clients: dict[str, APIClient]) -> dict[str, Any]:
    """An instance of `ratio` whose start failed: `count` is missing."""
    deploy(samples.RATIO)
    response = clients["agent"].post(
        "/api/v1/instances/", {"process_key": "ratio", "variables": {"total": 9}}, format="json"
    )
    assert response.status_code == 201
    body: dict[str, Any] = response.json()
    return body


def test_open_incidents_are_listed_for_ops(
    failed_ratio: dict[str, Any], clients: dict[str, APIClient]
) -> None:
    body = clients["ops"].get(URL, {"status": "open"}).json()

    [incident] = body["results"]
    assert {"id", "instance_id", "activity_id", "kind", "message", "attempts", "opened_at"} <= incident.keys()
    assert incident["instance_id"] == failed_ratio["id"]
    assert incident["activity_id"] == "compute_ratio"
    assert incident["attempts"] == 1
    assert incident["retryable"] is True
    assert "count" in incident["message"]
    assert clients["admin"].get(URL, {"status": "resolved"}).json()["count"] == 0
    assert clients["ops"].get(URL, {"status": "closed"}).status_code == 400


def test_incidents_are_for_ops_and_admins(
    failed_ratio: dict[str, Any], clients: dict[str, APIClient]
) -> None:
    incident_id = clients["ops"].get(URL).json()["results"][0]["id"]

    assert clients["anonymous"].get(URL).status_code == 401
    assert clients["agent"].get(URL).status_code == 403
    assert clients["analyst"].get(URL).status_code == 403
    assert clients["agent"].post(f"{URL}{incident_id}/retry/").status_code == 403
    assert clients["anonymous"].post(f"{URL}{incident_id}/retry/").status_code == 401
    assert clients["ops"].post(f"{URL}999999/retry/").status_code == 404


def test_retry_without_a_fix_fails_again_and_counts_the_attempt(
    failed_ratio: dict[str, Any], clients: dict[str, APIClient]
) -> None:
    incident_id = clients["ops"].get(URL).json()["results"][0]["id"]

    response = clients["ops"].post(f"{URL}{incident_id}/retry/", format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "open"
    assert response.json()["attempts"] == 2
    instance = ProcessInstance.objects.get(pk=failed_ratio["id"])
    assert instance.snapshot == "" and instance.status == "running"


def test_retry_with_corrected_variables_resolves_the_incident(
    failed_ratio: dict[str, Any], clients: dict[str, APIClient]
) -> None:
    incident_id = clients["ops"].get(URL).json()["results"][0]["id"]

    response = clients["ops"].post(f"{URL}{incident_id}/retry/", {"variables": {"count": 3}}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "resolved"
    instance = clients["ops"].get(f"/api/v1/instances/{failed_ratio['id']}/").json()
    assert instance["status"] == "completed"
    assert instance["variables"]["ratio"] == 3
    assert instance["completed_activities"] == ["start", "compute_ratio", "end"]
    events = clients["ops"].get(f"/api/v1/instances/{failed_ratio['id']}/events/").json()["results"]
    assert events[0]["type"] == "incident.opened"
    assert events[-1]["type"] == "incident.resolved" and events[-1]["actor"] == "ops"
    again = clients["ops"].post(f"{URL}{incident_id}/retry/")
    assert again.status_code == 409 and again.json()["error"]["code"] == "incident_resolved"
