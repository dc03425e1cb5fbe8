"""Ops on the instance page: retry an incident with corrected variables, cancel an instance."""

from __future__ import annotations

import json

import pytest

from apps.definitions.services import definition_deploy
from apps.instances.models import Incident, ProcessInstance
from apps.instances.services import instance_start
from tests.browser.conftest import wait_for_diagram
from tests.browser.models import HELLO, with_user_task

pytestmark = pytest.mark.django_db(transaction=True)


def test_ops_retries_an_incident_and_cancels_an_instance(page, live_server, sign_in, users, screenshot):
    definition_deploy(filename="hello_world.bpmn", content=HELLO.encode(), deployed_by=None)
    definition_deploy(filename="review.bpmn", content=with_user_task("review").encode(), deployed_by=None)
    # No `name`: the greet script fails, and an incident waits at `greet`.
    failing = instance_start(process_key="hello_world", business_key="ORD-1", started_by=users["admin"])
    waiting = instance_start(process_key="review", business_key="ORD-2", variables={"name": "Ada"},
                             started_by=users["admin"])
    assert Incident.objects.filter(instance=failing, status="open").count() == 1

    sign_in("ops")
    page.goto(f"{live_server.url}/instances/")
    assert page.locator("table tbody tr").count() == 2
    page.get_by_label("Status").select_option("waiting")
    page.wait_for_function("document.querySelectorAll('#instance-results tbody tr').length === 1")
    page.goto(f"{live_server.url}/instances/{failing.pk}/")
    wait_for_diagram(page)
    assert page.locator(".djs-element.pb-failed[data-element-id='greet']").count() == 1
    assert "name" in page.locator(".incident-message").inner_text()
    screenshot("instance-incident", full_page=True)

    page.get_by_text("Correct variables before retrying").click()
    page.get_by_label("Corrected variables (JSON object, optional)").fill(json.dumps({"name": "Ada Lovelace"}))
    page.get_by_role("button", name="Retry").click()
    assert "retried and resolved" in page.locator(".messages").inner_text()
    assert "Completed" in page.locator(".page-head h1").inner_text()
    failing.refresh_from_db()
    assert failing.status == "completed"

    page.goto(f"{live_server.url}/instances/{waiting.pk}/")
    page.get_by_role("button", name="Cancel instance…").click()
    dialog = page.locator("#confirm-dialog")
    assert dialog.is_visible()
    page.get_by_role("button", name="Keep it").click()
    assert not dialog.is_visible()
    assert ProcessInstance.objects.get(pk=waiting.pk).status == "waiting"
    page.get_by_role("button", name="Cancel instance…").click()
    dialog.get_by_role("button", name="Cancel instance").click()
    page.wait_for_selector(".message-success")
    assert "cancelled" in page.locator(".messages").inner_text()
    assert "Cancelled" in page.locator(".page-head h1").inner_text()
    assert ProcessInstance.objects.get(pk=waiting.pk).status == "cancelled"
