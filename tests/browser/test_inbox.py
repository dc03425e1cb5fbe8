"""Agents: the inbox, a task form with server-side validation, comments, and other groups' items."""

from __future__ import annotations

import json

import pytest

from apps.definitions.services import definition_deploy
from apps.instances.services import instance_start
from apps.worklist.models import WorkItem
from tests.browser.conftest import wait_for_diagram
from tests.browser.models import with_user_task

pytestmark = pytest.mark.django_db(transaction=True)

XSS_NAME = "<script>window.__pwned=1</script>"
XSS_COMMENT = "<img src=x onerror=window.__pwned=1>"


def _deploy(key: str, **kwargs):
    definition, _ = definition_deploy(filename=f"{key}.bpmn", content=with_user_task(key, **kwargs).encode(),
                                      deployed_by=None)
    return definition


def _not_pwned(page) -> None:
    assert page.evaluate("typeof window.__pwned") == "undefined"


def test_agent_claims_fixes_an_invalid_form_and_completes(page, live_server, sign_in, users, screenshot):
    review = _deploy("credit_review", task_name="Review <i>credit</i> limit")
    _deploy("overdue_review", due="PT0S")  # an item already past its due date, for the inbox
    instance_start(process_key="overdue_review", business_key="ORD-7", variables={"name": "Grace"},
                   started_by=users["admin"])
    sign_in("agent")

    # The agent starts an instance (so it may open the instance page), with markup in its data.
    page.goto(f"{live_server.url}/processes/{review.pk}/")
    page.get_by_label("Business key").fill(XSS_COMMENT)
    page.get_by_label("Variables (JSON object)").fill(json.dumps({"name": XSS_NAME, "customer": "ACME <b>Ltd</b>"}))
    page.get_by_role("button", name="Start instance").click()
    page.wait_for_url(f"{live_server.url}/instances/*/")
    instance_url = page.url
    assert "greet" in page.locator("#active-activities").inner_text()
    assert XSS_NAME in page.locator("#variables").inner_text()
    assert XSS_COMMENT in page.locator(".page-head").inner_text()
    wait_for_diagram(page)
    assert page.locator(".djs-element.pb-active[data-element-id='greet']").count() == 1
    _not_pwned(page)

    # Inbox: the group queue lists both items; the overdue one says so in words.
    page.get_by_role("link", name="Inbox").click()
    page.get_by_role("link", name="My groups' queue").click()
    page.wait_for_selector("#work-items")
    rows = page.locator("#work-items tbody tr")
    assert rows.count() == 2
    assert "Overdue" in page.locator("#work-items tr.is-overdue").inner_text()
    screenshot("inbox")
    # htmx filter: text search narrows the list without a page load.
    page.get_by_label("Search").fill("credit")
    page.wait_for_function("document.querySelectorAll('#work-items tbody tr').length === 1")
    assert "Review <i>credit</i> limit" in page.locator("#work-items").inner_text()

    page.get_by_role("link", name="Review <i>credit</i> limit").click()
    page.wait_for_url(f"{live_server.url}/inbox/*/")
    page.get_by_role("button", name="Claim").click()
    assert "You claimed this item." in page.locator(".messages").inner_text()
    wait_for_diagram(page)
    assert page.locator(".djs-element.pb-current[data-element-id='greet']").count() == 1

    # A comment with markup, added with htmx, shows as text.
    page.get_by_label("Add a comment").fill(XSS_COMMENT)
    page.get_by_role("button", name="Add comment").click()
    page.wait_for_selector("#comments .comment")
    assert XSS_COMMENT in page.locator("#comments .comment-text").inner_text()
    _not_pwned(page)

    # Invalid input: errors beside the fields, nothing saved.
    page.get_by_label("Credit limit (EUR)").fill("0")
    page.get_by_label("Reason").fill("ok")
    page.get_by_role("button", name="Complete").click()
    page.wait_for_selector(".field.has-error")
    assert "required" in page.locator("[data-field='decision'] .field-error").inner_text()
    assert "minimum of 1" in page.locator("[data-field='amount'] .field-error").inner_text()
    assert "too short" in page.locator("[data-field='reason'] .field-error").inner_text()
    assert page.get_by_label("Reason").input_value() == "ok"  # what was typed stays to be fixed
    assert WorkItem.objects.get(process_key="credit_review").status == "claimed"
    screenshot("task-with-errors", full_page=True)

    page.get_by_label("Decision").select_option("approve")
    page.get_by_label("Credit limit (EUR)").fill("2500")
    page.get_by_label("Reason").fill("Good payment history")
    page.get_by_label("VIP customer").check()
    page.get_by_role("button", name="Complete").click()
    page.wait_for_url(instance_url)
    assert "Completed" in page.locator(".page-head h1").inner_text()
    variables = json.loads(page.locator("#variables").inner_text())
    assert variables["amount"] == 2500 and variables["vip"] is True and variables["decision"] == "approve"
    wait_for_diagram(page)
    assert page.locator(".djs-element.pb-completed[data-element-id='greet']").count() == 1
    _not_pwned(page)


def test_agent_cannot_open_another_groups_item(page, live_server, sign_in, users):
    _deploy("billing_review", group="billing")
    instance_start(process_key="billing_review", variables={"name": "Ada"}, started_by=users["admin"])
    item = WorkItem.objects.get(process_key="billing_review")
    sign_in("agent")
    response = page.goto(f"{live_server.url}/inbox/{item.pk}/")
    assert response.status == 404
    assert page.get_by_role("heading", name="Page not found").is_visible()
    page.goto(f"{live_server.url}/inbox/?tab=queue")
    assert "Your groups' queue is empty." in page.locator("#inbox-results").inner_text()
