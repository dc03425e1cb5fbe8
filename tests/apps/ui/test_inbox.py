"""Inbox and task views: the worklist gate (404), form rendering and errors, comments, escaping."""

from __future__ import annotations

import pytest

from apps.instances.models import ProcessInstance
from apps.instances.services import instance_start
from apps.worklist.models import WorkItem, WorkItemComment
from tests.browser.models import with_user_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(deploy, users) -> WorkItem:
    deploy(with_user_task("review", task_name="Review <b>it</b>"))
    instance_start(process_key="review", variables={"name": "Ada"}, started_by=users["admin"])
    return WorkItem.objects.get(process_key="review")


@pytest.fixture
def foreign_item(deploy, users) -> WorkItem:
    deploy(with_user_task("billing_review", group="billing"))
    instance_start(process_key="billing_review", variables={"name": "Ada"}, started_by=users["admin"])
    return WorkItem.objects.get(process_key="billing_review")


def test_another_groups_item_is_404_everywhere(client_for, foreign_item):
    agent = client_for("agent")
    assert agent.get(f"/inbox/{foreign_item.pk}/").status_code == 404
    for action in ("claim", "unclaim", "complete", "comments"):
        assert agent.post(f"/inbox/{foreign_item.pk}/{action}/", {"text": "hi"}).status_code == 404
    assert agent.get("/inbox/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert not WorkItemComment.objects.exists()
    assert client_for("ops").get(f"/inbox/{foreign_item.pk}/").status_code == 200  # ops see every item


def test_analysts_have_no_inbox(client_for, item):
    assert client_for("analyst").get("/inbox/").status_code == 403


def test_inbox_tabs_counts_and_htmx_partial(client_for, item):
    agent = client_for("agent")
    mine = agent.get("/inbox/").content.decode()
    assert "Nothing is assigned to you" in mine
    queue = agent.get("/inbox/?tab=queue").content.decode()
    assert "Review &lt;b&gt;it&lt;/b&gt;" in queue and "Review <b>it</b>" not in queue
    partial = agent.get("/inbox/?tab=queue&q=nomatch", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and "queue is empty" in partial


def test_overdue_items_are_marked_in_words(client_for, deploy, users):
    deploy(with_user_task("late", due="PT0S"))
    instance_start(process_key="late", variables={"name": "Ada"}, started_by=users["admin"])
    html = client_for("agent").get("/inbox/?tab=queue&overdue=on").content.decode()
    assert 'class="is-overdue"' in html and "Overdue" in html


def test_task_page_renders_the_form_from_the_schema(client_for, item):
    html = client_for("agent").get(f"/inbox/{item.pk}/").content.decode()
    assert '<select id="f_decision" name="var__decision"' in html
    assert 'type="number"' in html and 'min="1"' in html
    assert 'type="date"' in html and 'type="checkbox"' in html
    assert html.count("(required)") == 3
    assert 'id="diagram-config"' in html and '"current": ["greet"]' in html


def test_invalid_input_shows_errors_beside_fields_and_saves_nothing(client_for, item):
    agent = client_for("agent")
    response = agent.post(f"/inbox/{item.pk}/complete/", {"var__amount": "abc", "var__reason": "x"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "enter a whole number" in html and 'value="abc"' in html
    response = agent.post(f"/inbox/{item.pk}/complete/", {"var__amount": "0", "var__reason": "x"})
    html = response.content.decode()
    assert "this field is required" in html and "less than the minimum of 1" in html
    item.refresh_from_db()
    assert item.status == "open" and item.assignee is None
    assert "amount" not in ProcessInstance.objects.get(pk=item.instance_id).variables


def test_claim_then_complete_moves_the_instance_on(client_for, item):
    agent = client_for("agent")
    assert agent.post(f"/inbox/{item.pk}/claim/").status_code == 302
    response = agent.post(f"/inbox/{item.pk}/complete/",
                          {"var__decision": "approve", "var__amount": "7", "var__reason": "fine by me"})
    assert response.status_code == 302
    assert response["Location"] == "/inbox/"  # the agent did not start this instance: no instance page
    instance = ProcessInstance.objects.get(pk=item.instance_id)
    assert instance.status == "completed" and instance.variables["amount"] == 7


def test_someone_elses_claim_blocks_completion(client_for, item, users):
    client_for("admin").post(f"/inbox/{item.pk}/claim/")
    response = client_for("agent").post(f"/inbox/{item.pk}/complete/",
                                        {"var__decision": "approve", "var__amount": "7", "var__reason": "fine"})
    assert response.status_code == 409
    html = response.content.decode()
    assert "Someone else has claimed this work item." in html  # the service's reason, in the form
    assert "Someone else has claimed this item." in html and ">Complete</button>" not in html


def test_comments_are_escaped_and_htmx_gets_the_partial(client_for, item):
    agent = client_for("agent")
    text = "<img src=x onerror=alert(1)>"
    partial = agent.post(f"/inbox/{item.pk}/comments/", {"text": text}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and "&lt;img src=x onerror=alert(1)&gt;" in partial and text not in partial
    empty = agent.post(f"/inbox/{item.pk}/comments/", {"text": "  "}, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="comment-error"' in empty
    plain = agent.post(f"/inbox/{item.pk}/comments/", {"text": "plain"})
    assert plain.status_code == 302 and plain["Location"].endswith("#comments")
    assert WorkItemComment.objects.count() == 2
