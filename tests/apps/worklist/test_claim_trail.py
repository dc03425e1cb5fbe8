"""The implicit claim of a completion in the audit trail, as `GET /instances/{id}/events/` shows it.

The claim's event travels with the completion step (`instance_step(events_before=...)`): one INSERT
with the step's events and one write of the instance row. Seen through the API the trail is what it
was when the claim wrote its own rows first: `work_item.claimed` by the completer, then the
completion's events - or, when the step fails, then its incident - numbered without gaps.
"""

from __future__ import annotations

from typing import Any

import pytest

from apps.instances.models import ProcessInstance
from tests.apps.worklist import samples


def _trail(client: Any, instance_id: Any) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/instances/{instance_id}/events/", {"page_size": 500})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def _complete(client: Any, item: Any) -> Any:
    return client.post(f"/api/v1/work-items/{item.pk}/complete/", {"variables": {"ok": 1}}, format="json")


@pytest.fixture
def ops(people, client_for):
    return client_for(people["ops"])


def _assert_numbered_and_saved(trail: list[dict[str, Any]], instance_id: Any) -> None:
    """`seq` runs 1..n and the instance's `event_seq` is n: the next step's numbers cannot collide."""
    assert [event["seq"] for event in trail] == list(range(1, len(trail) + 1))
    assert ProcessInstance.objects.get(pk=instance_id).event_seq == len(trail)


def test_a_completion_records_its_implicit_claim_right_before_its_own_events(
    deploy, people, start, client_for, ops
) -> None:
    deploy(samples.PLAIN)
    instance, item = start("plain")
    before = _trail(ops, instance.pk)

    assert _complete(client_for(people["seller"]), item).status_code == 200

    trail = _trail(ops, instance.pk)
    _assert_numbered_and_saved(trail, instance.pk)
    assert trail[: len(before)] == before
    added = trail[len(before):]
    assert added[0]["type"] == "work_item.claimed"
    assert (added[0]["activity_id"], added[0]["data"]) == (
        "task", {"work_item_id": str(item.pk), "assignee": "seller", "implicit": True}
    )
    assert "work_item.completed" in [event["type"] for event in added[1:]]
    assert added[-1]["type"] == "instance.completed"
    assert {event["actor"] for event in added} == {"seller"}
    assert len({event["at"] for event in added}) == 1  # one step, one clock


def test_completing_an_item_already_claimed_records_no_second_claim(
    deploy, people, start, client_for, ops
) -> None:
    deploy(samples.PLAIN)
    instance, item = start("plain")
    seller = client_for(people["seller"])
    assert seller.post(f"/api/v1/work-items/{item.pk}/claim/").status_code == 200

    assert _complete(seller, item).status_code == 200

    trail = _trail(ops, instance.pk)
    _assert_numbered_and_saved(trail, instance.pk)
    types = [event["type"] for event in trail]
    assert types.count("work_item.claimed") == 1
    assert "implicit" not in trail[types.index("work_item.claimed")]["data"]


def test_a_failing_completion_records_its_claim_then_its_incident_and_numbering_goes_on(
    deploy, people, start, client_for, ops
) -> None:
    deploy(samples.FAILS_AFTER)
    instance, item = start("fails_after")
    before = _trail(ops, instance.pk)

    response = _complete(client_for(people["seller"]), item)
    assert response.status_code == 422

    trail = _trail(ops, instance.pk)
    _assert_numbered_and_saved(trail, instance.pk)
    assert trail[: len(before)] == before
    added = trail[len(before):]
    assert [(event["type"], event["actor"]) for event in added] == [
        ("work_item.claimed", "seller"),
        ("incident.opened", "seller"),
    ]
    assert added[0]["data"] == {"work_item_id": str(item.pk), "assignee": "seller", "implicit": True}

    # A retry (it fails again) numbers its event after them: nothing collides with `(instance, seq)`.
    incident_id = added[1]["data"]["incident_id"]
    assert ops.post(f"/api/v1/incidents/{incident_id}/retry/", {}, format="json").status_code == 200
    after_retry = _trail(ops, instance.pk)
    _assert_numbered_and_saved(after_retry, instance.pk)
    assert [event["type"] for event in after_retry[len(trail):]] == ["incident.retry_failed"]
