"""`/api/v1/instances/...`: start, list, detail, events, cancel/suspend/resume, with access rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from apps.core import prepared
from apps.definitions.models import ProcessDefinition
from tests.apps.instances import samples

Deploy = Callable[[bytes], ProcessDefinition]
URL = "/api/v1/instances/"


def start(client: APIClient, **body: Any) -> Any:
    return client.post(URL, {"process_key": "approval", **body}, format="json")


@pytest.fixture
def approval(deploy: Deploy) -> ProcessDefinition:
    return deploy(samples.APPROVAL)


def test_start_returns_201_with_the_contract_fields(
    approval: ProcessDefinition, clients: dict[str, APIClient]
) -> None:
    response = start(clients["agent"], business_key="order-1", variables={"order": 1})

    assert response.status_code == 201, response.json()
    body = response.json()
    assert {
        "id",
        "process_key",
        "version",
        "business_key",
        "status",
        "variables",
        "active_activities",
        "completed_activities",
        "started_at",
        "ended_at",
        "incidents",
        "next_timer_at",
        "definition_id",
    } <= body.keys()
    assert body["process_key"] == "approval"
    assert body["version"] == approval.version
    assert body["definition_id"] == approval.pk
    assert body["business_key"] == "order-1"
    assert body["status"] == "waiting"
    assert body["active_activities"] == ["approve"]
    assert body["completed_activities"] == ["start", "prepare"]
    assert body["variables"] == {"order": 1, "prepared": True}
    assert body["incidents"] == []
    assert body["started_by"] == "agent"


@pytest.mark.parametrize("role", ["analyst", "agent", "ops", "admin"])
def test_every_role_may_start(approval: ProcessDefinition, clients: dict[str, APIClient], role: str) -> None:
    assert start(clients[role]).status_code == 201


@pytest.mark.parametrize("role", ["analyst", "agent", "ops", "admin"])
def test_start_answers_the_instance_exactly_as_its_detail_shows_it(
    approval: ProcessDefinition, clients: dict[str, APIClient], role: str
) -> None:
    started = start(clients[role], business_key=f"same-{role}", variables={"order": 2})

    assert started.status_code == 201
    assert clients[role].get(f"{URL}{started.json()['id']}/").json() == started.json()


# The first step succeeds but opens an incident: an uncaught BPMN error fails the instance.
UNCAUGHT = samples.model(
    "uncaught",
    f"""
{samples.START}
<bpmn:endEvent id="end_error"><bpmn:errorEventDefinition errorRef="bad"/></bpmn:endEvent>
{samples.chain("start", "end_error")}
""",
    extra='<bpmn:error id="bad" name="bad" errorCode="bad"/>\n',
)


@pytest.mark.parametrize(
    ("model", "key", "incidents"),
    [(samples.APPROVAL, "approval", 0), (samples.BROKEN, "broken", 1), (UNCAUGHT, "uncaught", 1)],
    ids=["no incident", "failed first step", "incident opened by the step"],
)
def test_start_reads_incidents_for_its_answer_only_when_its_first_step_opened_one(
    deploy: Deploy, clients: dict[str, APIClient], model: bytes, key: str, incidents: int
) -> None:
    deploy(model)

    statements: list[str] = []  # an execute wrapper: the request's start resets `connection.queries`
    with connection.execute_wrapper(lambda execute, sql, *args: statements.append(sql) or execute(sql, *args)):
        started = clients["ops"].post(URL, {"process_key": key}, format="json")

    assert started.status_code == 201
    assert len(started.json()["incidents"]) == incidents
    # The answer is the instance as its detail (which reads the incidents) shows it.
    assert clients["ops"].get(f"{URL}{started.json()['id']}/").json() == started.json()
    ran = [prepared.statement(sql) for sql in statements]
    incident_reads = [sql for sql in ran if sql.startswith("SELECT") and '"instances_incident"' in sql]
    assert len(incident_reads) == incidents


def test_start_needs_authentication_and_a_role(
    approval: ProcessDefinition, clients: dict[str, APIClient], api_client_for: Any
) -> None:
    from django.contrib.auth.models import User

    assert start(clients["anonymous"]).status_code == 401
    nobody = api_client_for(User.objects.create_user("nobody", password="x"))
    response = start(nobody)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_start_of_an_unknown_process_is_a_400_naming_the_field(
    db: None, clients: dict[str, APIClient]
) -> None:
    response = start(clients["agent"], process_key="no_such_process")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "unknown_process"
    assert error["details"][0]["field"] == "process_key"


def test_start_of_an_unknown_version_is_a_400_naming_the_version(
    approval: ProcessDefinition, clients: dict[str, APIClient]
) -> None:
    response = start(clients["agent"], version=99)

    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "version"


def test_start_with_bad_input_is_a_400(approval: ProcessDefinition, clients: dict[str, APIClient]) -> None:
    response = clients["agent"].post(URL, {"variables": [1, 2]}, format="json")

    assert response.status_code == 400
    fields = {d["field"] for d in response.json()["error"]["details"]}
    assert fields == {"process_key", "variables"}


def test_second_start_with_the_same_business_key_is_a_409(
    approval: ProcessDefinition, clients: dict[str, APIClient]
) -> None:
    assert start(clients["agent"], business_key="order-9").status_code == 201

    response = start(clients["ops"], business_key="order-9")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "duplicate_business_key"


def test_list_is_paged_filtered_and_scoped_to_what_an_agent_may_see(
    approval: ProcessDefinition, deploy: Deploy, clients: dict[str, APIClient]
) -> None:
    deploy(samples.BROKEN)
    mine = start(clients["agent"], business_key="a").json()
    start(clients["ops"], business_key="b")
    clients["ops"].post(URL, {"process_key": "broken"}, format="json")

    everything = clients["analyst"].get(URL).json()
    assert everything["count"] == 3
    assert [r["id"] for r in clients["agent"].get(URL).json()["results"]] == [mine["id"]]
    assert clients["ops"].get(URL, {"business_key": "b"}).json()["count"] == 1
    assert clients["ops"].get(URL, {"process_key": "broken"}).json()["count"] == 1
    assert clients["ops"].get(URL, {"status": "waiting"}).json()["count"] == 2
    assert clients["ops"].get(URL, {"page_size": 1}).json()["next"] is not None
    bad = clients["ops"].get(URL, {"status": "sleeping"})
    assert bad.status_code == 400
    assert bad.json()["error"]["details"][0]["field"] == "status"
    assert clients["anonymous"].get(URL).status_code == 401


def test_detail_shows_incidents_and_hides_other_agents_instances(
    deploy: Deploy, clients: dict[str, APIClient], api_client_for: Any
) -> None:
    from django.contrib.auth.models import Group, User

    deploy(samples.BROKEN)
    created = clients["agent"].post(URL, {"process_key": "broken"}, format="json").json()
    url = f"{URL}{created['id']}/"

    body = clients["ops"].get(url).json()
    assert body["status"] == "running"
    [incident] = body["incidents"]
    assert incident["kind"] == "expression_error"
    assert incident["activity_id"] == "divide"
    assert incident["status"] == "open"
    assert clients["agent"].get(url).status_code == 200
    other = User.objects.create_user("other_agent", password="x")
    other.groups.add(Group.objects.get(name="agent"))
    hidden = api_client_for(other).get(url)
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "not_found"
    assert api_client_for(other).get(f"{url}events/").status_code == 404
    assert clients["anonymous"].get(url).status_code == 401
    assert clients["ops"].get(f"{URL}00000000-0000-0000-0000-000000000000/").status_code == 404
    assert clients["ops"].get(f"{URL}not-a-uuid/").status_code == 404


def test_events_are_the_audit_trail_in_seq_order(
    approval: ProcessDefinition, clients: dict[str, APIClient]
) -> None:
    created = start(clients["agent"]).json()
    clients["ops"].post(f"{URL}{created['id']}/suspend/")

    body = clients["agent"].get(f"{URL}{created['id']}/events/").json()

    events = body["results"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["type"] == "instance.started"
    assert events[0]["actor"] == "agent"
    assert {"seq", "type", "activity_id", "actor", "at", "data"} <= events[0].keys()
    assert [e["activity_id"] for e in events if e["type"] == "activity.completed"] == ["start", "prepare"]
    assert events[-1]["type"] == "instance.suspended" and events[-1]["actor"] == "ops"


def test_suspend_resume_cancel_transitions(
    approval: ProcessDefinition, clients: dict[str, APIClient]
) -> None:
    url = f"{URL}{start(clients['agent']).json()['id']}/"
    ops = clients["ops"]

    assert ops.post(f"{url}resume/").json()["error"]["code"] == "instance_not_suspended"
    suspended = ops.post(f"{url}suspend/")
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    again = ops.post(f"{url}suspend/")
    assert again.status_code == 409 and again.json()["error"]["code"] == "instance_suspended"
    resumed = clients["admin"].post(f"{url}resume/")
    assert resumed.status_code == 200 and resumed.json()["status"] == "waiting"
    cancelled = ops.post(f"{url}cancel/")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["ended_at"] is not None
    assert cancelled.json()["active_activities"] == []
    finished = ops.post(f"{url}cancel/")
    assert finished.status_code == 409 and finished.json()["error"]["code"] == "instance_finished"


@pytest.mark.parametrize("action", ["cancel", "suspend", "resume"])
def test_instance_operations_are_for_ops_and_admins(
    approval: ProcessDefinition, clients: dict[str, APIClient], action: str
) -> None:
    url = f"{URL}{start(clients['agent']).json()['id']}/{action}/"

    assert clients["anonymous"].post(url).status_code == 401
    assert clients["agent"].post(url).status_code == 403
    assert clients["analyst"].post(url).status_code == 403
    assert clients["ops"].post(f"{URL}00000000-0000-0000-0000-000000000000/{action}/").status_code == 404
    assert clients["ops"].get(url).status_code == 405


def test_openapi_describes_the_runtime_endpoints(db: None, clients: dict[str, APIClient]) -> None:
    response = clients["anonymous"].get("/api/schema/", {"format": "json"})

    paths = response.json()["paths"]
    for path in (
        "/api/v1/instances/",
        "/api/v1/instances/{instance_id}/",
        "/api/v1/instances/{instance_id}/events/",
        "/api/v1/instances/{instance_id}/cancel/",
        "/api/v1/incidents/",
        "/api/v1/incidents/{incident_id}/retry/",
    ):
        assert path in paths
    assert "409" in paths["/api/v1/instances/"]["post"]["responses"]
