"""Claim, unclaim, complete, reassign and comments through the API, with their 4xx answers."""

from __future__ import annotations

import pytest
from django.template import Context, Template

from apps.instances.models import InstanceEvent
from apps.worklist.models import WorkItemComment
from tests.apps.worklist import samples


@pytest.fixture
def item(deploy, people, start):
    deploy(samples.PLAIN)
    return start("plain")[1]


def url(item, action: str = "") -> str:
    return f"/api/v1/work-items/{item.pk}/{action}"


def error_code(response) -> str:
    return response.json()["error"]["code"]


def trail(item) -> list[str]:
    return list(InstanceEvent.objects.filter(instance=item.instance).order_by("seq").values_list("type", flat=True))


def test_claim_is_idempotent_for_me_and_409_for_others(item, people, client_for) -> None:
    seller, seller2 = client_for(people["seller"]), client_for(people["seller2"])
    first = seller.post(url(item, "claim/"))
    assert first.status_code == 200
    assert (first.json()["status"], first.json()["assignee"]) == ("claimed", "seller")
    assert seller.post(url(item, "claim/")).status_code == 200
    assert trail(item).count("work_item.claimed") == 1
    other = seller2.post(url(item, "claim/"))
    assert (other.status_code, error_code(other)) == (409, "work_item_claimed_by_other")


def test_unclaim_by_the_assignee_or_ops_only(item, people, client_for) -> None:
    client_for(people["seller"]).post(url(item, "claim/"))
    denied = client_for(people["seller2"]).post(url(item, "unclaim/"))
    assert (denied.status_code, error_code(denied)) == (403, "not_assignee")
    released = client_for(people["ops"]).post(url(item, "unclaim/"))
    assert (released.status_code, released.json()["status"], released.json()["assignee"]) == (200, "open", None)
    assert client_for(people["seller2"]).post(url(item, "unclaim/")).status_code == 200  # already open: no-op
    assert trail(item).count("work_item.unclaimed") == 1


def test_complete_claims_implicitly_and_then_is_409(item, people, client_for) -> None:
    seller = client_for(people["seller"])
    done = seller.post(url(item, "complete/"), {"variables": {"ok": 1}}, format="json")
    assert done.status_code == 200
    body = done.json()
    assert (body["status"], body["assignee"], body["completed_by"]) == ("completed", "seller", "seller")
    again = seller.post(url(item, "complete/"), {"variables": {}}, format="json")
    assert (again.status_code, error_code(again)) == (409, "work_item_not_open")
    for action in ("claim/", "unclaim/"):
        assert error_code(seller.post(url(item, action))) == "work_item_not_open"


def test_complete_of_an_item_claimed_by_someone_else_changes_nothing(item, people, client_for) -> None:
    client_for(people["seller"]).post(url(item, "claim/"))
    instance = item.instance
    instance.refresh_from_db()
    snapshot, seq = instance.snapshot, instance.event_seq
    response = client_for(people["seller2"]).post(url(item, "complete/"), {"variables": {"x": 1}}, format="json")
    assert (response.status_code, error_code(response)) == (409, "work_item_claimed_by_other")
    instance.refresh_from_db()
    item.refresh_from_db()
    assert (instance.snapshot, instance.event_seq, item.status) == (snapshot, seq, "claimed")


def test_a_failing_step_keeps_the_claim_and_opens_an_incident(deploy, people, start, client_for) -> None:
    deploy(samples.FAILS_AFTER)
    instance, item = start("fails_after")
    response = client_for(people["seller"]).post(url(item, "complete/"), {"variables": {}}, format="json")
    assert (response.status_code, error_code(response)) == (422, "step_failed")
    item.refresh_from_db()
    assert (item.status, item.assignee) == ("claimed", people["seller"])
    assert instance.incidents.filter(status="open").count() == 1


def test_reassign_by_ops(item, people, client_for) -> None:
    payload = {"assignee": "biller", "candidate_groups": ["billing", "sales"]}
    denied = client_for(people["seller"]).post(url(item, "reassign/"), payload, format="json")
    assert denied.status_code == 403
    done = client_for(people["ops"]).post(url(item, "reassign/"), payload, format="json")
    assert done.status_code == 200
    body = done.json()
    assert (body["assignee"], body["status"], body["candidate_groups"]) == ("biller", "claimed", ["billing", "sales"])
    assert client_for(people["biller"]).get(url(item)).status_code == 200
    cleared = client_for(people["ops"]).post(url(item, "reassign/"), {"assignee": None}, format="json")
    assert (cleared.json()["assignee"], cleared.json()["status"]) == (None, "open")
    unknown = client_for(people["ops"]).post(url(item, "reassign/"), {"assignee": "ghost"}, format="json")
    assert (unknown.status_code, error_code(unknown)) == (400, "unknown_user")
    assert unknown.json()["error"]["details"][0]["field"] == "assignee"
    empty = client_for(people["ops"]).post(url(item, "reassign/"), {}, format="json")
    assert empty.status_code == 400
    event = InstanceEvent.objects.filter(instance=item.instance, type="work_item.reassigned").first()
    assert event.data["assignee"] == "biller" and event.actor == "ops"


def test_comments_are_stored_and_returned_verbatim(item, people, client_for) -> None:
    html = '<script>alert("x")</script><b>{{ secret }}</b>{% now "Y" %}'
    seller = client_for(people["seller"])
    created = seller.post(url(item, "comments/"), {"text": html}, format="json")
    assert created.status_code == 201
    assert (created.json()["text"], created.json()["author"]) == (html, "seller")
    listed = client_for(people["ops"]).get(url(item, "comments/")).json()["results"]
    assert [c["text"] for c in listed] == [html]
    assert WorkItemComment.objects.get().text == html  # not escaped, not rendered, not trimmed
    # Server-side templates get it as data: autoescaped, and template syntax inside is never executed.
    rendered = Template("{{ comment.text }}").render(Context({"comment": WorkItemComment.objects.get()}))
    assert "<script>" not in rendered and "{{ secret }}" in rendered.replace("&#x27;", "'")
    assert trail(item).count("work_item.commented") == 1
    assert seller.post(url(item, "comments/"), {"text": ""}, format="json").status_code == 400
