"""What a B3 instance costs the database through the API: a budget that only a deliberate change moves.

B3 (docs/performance.md) starts an instance with a user task over HTTP and completes the item, with
token authentication. Each statement is a round trip and ORM time in a CPU-bound web worker. The
requests run through the real URL conf, authentication (a `Token` header, not `force_authenticate`)
and views, on PostgreSQL, with the per-process caches warm (a first instance ran before).
Before this budget was set: 9 statements to start and 16 to complete (the token read on each, and
the access gate's EXISTS before the completion's locks); 15 to complete until the implicit claim's
audit event went into the step's INSERT and its `event_seq` into the step's UPDATE (-2); 8 to start
until the pipeline told the answer that a first step which opened no incident left none to read (-1).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.core import prepared
from apps.core.services import token_get_or_create
from apps.instances.models import InstanceEvent, ProcessInstance
from apps.worklist.models import WorkItem
from tests.apps.worklist import samples

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# As the bench's model: start -> a user task of the `agent` group -> end.
HUMAN = samples.one_task("b3_human", '<bpmn:userTask id="task" name="Review" camunda:candidateGroups="agent"/>')


def _statements(queries: CaptureQueriesContext) -> list[str]:
    return [prepared.statement(q["sql"]).split()[0].upper() for q in queries.captured_queries]


def _b3(client: APIClient) -> tuple[dict[str, Any], dict[str, Any]]:
    """One B3 round: start, find the item (not counted by the callers), complete."""
    started = client.post("/api/v1/instances/", {"process_key": "b3_human"}, format="json")
    assert started.status_code == 201, started.content
    item = WorkItem.objects.get(instance_id=started.json()["id"])
    done = client.post(f"/api/v1/work-items/{item.pk}/complete/", {"variables": {"ok": True}}, format="json")
    assert done.status_code == 200, done.content
    return started.json(), done.json()


# start: definition, BEGIN, work item, its candidate row, audit events, the instance row, COMMIT (the
# answer's incidents are known to be none: the first step opened none)
START = ["SELECT", "BEGIN", "INSERT", "INSERT", "INSERT", "INSERT", "COMMIT"]
# complete: BEGIN, the item's instance id, the instance lock, the item lock (access checked on it);
# the implicit claim: item, assignee row; the step: SAVEPOINT, item completed, audit events (the
# claim's first), instance row (with the claim's event_seq), RELEASE; the item read back; COMMIT
COMPLETE = [
    "BEGIN", "SELECT", "SELECT", "SELECT",
    "UPDATE", "INSERT",
    "SAVEPOINT", "UPDATE", "INSERT", "UPDATE", "RELEASE",
    "SELECT", "COMMIT",
]
TOKEN = ["SELECT"]  # the token, its user and groups: one statement, none while the process caches it


@pytest.mark.parametrize(("cache_seconds", "auth"), [(5, []), (0, TOKEN)])
def test_a_b3_instance_costs_seven_statements_to_start_and_thirteen_to_complete_plus_the_token_uncached(
    users, deploy, settings, cache_seconds, auth
) -> None:
    settings.PATCHBAY_TOKEN_CACHE_SECONDS = cache_seconds
    deploy(HUMAN)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_get_or_create(user=users['agent'])}")
    _b3(client)  # warms the model cache (and the token's entry)

    with CaptureQueriesContext(connection) as starting:
        started = client.post("/api/v1/instances/", {"process_key": "b3_human"}, format="json")
    assert started.status_code == 201
    item = WorkItem.objects.get(instance_id=started.json()["id"])
    with CaptureQueriesContext(connection) as completing:
        done = client.post(f"/api/v1/work-items/{item.pk}/complete/", {"variables": {"ok": True}}, format="json")
    assert done.status_code == 200

    assert (done.json()["status"], done.json()["assignee"], done.json()["completed_by"]) == (
        "completed", "agent", "agent"
    )
    assert ProcessInstance.objects.get(pk=item.instance_id).status == "completed"
    trail = list(
        InstanceEvent.objects.filter(instance_id=item.instance_id).order_by("seq").values_list("type", flat=True)
    )
    assert trail.index("work_item.claimed") < trail.index("work_item.completed")
    assert _statements(starting) == auth + START
    assert _statements(completing) == auth + COMPLETE
    # The access gate's EXISTS never runs on the way to a 200: access is checked on the locked row.
    assert not [q for q in completing.captured_queries if "EXISTS" in prepared.statement(q["sql"])]
