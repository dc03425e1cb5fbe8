"""Instance views: visibility, ops actions, incident retries, escaping of variables."""

from __future__ import annotations

import json

import pytest

from apps.instances.models import Incident, ProcessInstance
from apps.instances.services import instance_start
from tests.browser.models import HELLO, with_user_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting(deploy, users) -> ProcessInstance:
    deploy(with_user_task("review"))
    return instance_start(process_key="review", business_key="ORD-1",
                          variables={"name": "<script>alert(1)</script>"}, started_by=users["admin"])


@pytest.fixture
def failing(deploy, users) -> ProcessInstance:
    deploy(HELLO)
    return instance_start(process_key="hello_world", started_by=users["admin"])  # no `name`: incident


def test_agents_see_only_their_instances(client_for, waiting):
    assert client_for("agent").get(f"/instances/{waiting.pk}/").status_code == 404
    assert str(waiting.pk)[:8] not in client_for("agent").get("/instances/").content.decode()
    assert client_for("analyst").get(f"/instances/{waiting.pk}/").status_code == 200


def test_not_a_uuid_is_404(client_for):
    assert client_for("ops").get("/instances/not-a-uuid/").status_code == 404


def test_instance_page_escapes_variables_and_marks_the_diagram(client_for, waiting):
    html = client_for("ops").get(f"/instances/{waiting.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    config = json.loads(html.split('id="diagram-config" type="application/json">')[1].split("</script>")[0])
    assert config["active"] == ["greet"] and "start_event" in config["completed"]
    assert config["xml_url"] == f"/processes/{waiting.definition_id}/xml"


def test_list_filters_by_status(client_for, waiting, failing):
    html = client_for("ops").get("/instances/?status=waiting").content.decode()
    assert str(waiting.pk)[:8] in html and str(failing.pk)[:8] not in html
    partial = client_for("ops").get("/instances/?status=running", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and str(failing.pk)[:8] in partial


def test_only_ops_operate(client_for, waiting):
    for name in ("agent", "analyst"):
        assert client_for(name).post(f"/instances/{waiting.pk}/cancel/").status_code == 403
    html = client_for("analyst").get(f"/instances/{waiting.pk}/").content.decode()
    assert "Cancel instance" not in html and "Suspend" not in html


def test_ops_suspend_resume_and_cancel(client_for, waiting):
    ops = client_for("ops")
    assert ops.get(f"/instances/{waiting.pk}/cancel/").status_code == 405
    assert ops.post(f"/instances/{waiting.pk}/explode/").status_code == 404
    assert ops.post(f"/instances/{waiting.pk}/suspend/").status_code == 302
    assert ProcessInstance.objects.get(pk=waiting.pk).status == "suspended"
    assert ops.post(f"/instances/{waiting.pk}/resume/").status_code == 302
    response = ops.post(f"/instances/{waiting.pk}/cancel/", follow=True)
    assert "The instance was cancelled." in response.content.decode()
    assert ProcessInstance.objects.get(pk=waiting.pk).status == "cancelled"
    again = ops.post(f"/instances/{waiting.pk}/cancel/", follow=True).content.decode()
    assert 'class="message message-error"' in again  # already finished: said, not a 500


def test_retry_without_a_fix_fails_again_and_says_so(client_for, failing):
    incident = Incident.objects.get(instance=failing)
    response = client_for("ops").post(f"/instances/{failing.pk}/incidents/{incident.pk}/retry/", follow=True)
    assert "The retry failed again" in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == "open" and incident.attempts == 2


def test_retry_with_corrected_variables_resolves(client_for, failing):
    incident = Incident.objects.get(instance=failing)
    response = client_for("ops").post(
        f"/instances/{failing.pk}/incidents/{incident.pk}/retry/", {"variables": '{"name": "Ada"}'}, follow=True
    )
    assert "retried and resolved" in response.content.decode()
    assert ProcessInstance.objects.get(pk=failing.pk).status == "completed"


def test_retry_rejects_bad_json_and_foreign_incidents(client_for, failing, waiting):
    incident = Incident.objects.get(instance=failing)
    ops = client_for("ops")
    bad = ops.post(f"/instances/{failing.pk}/incidents/{incident.pk}/retry/", {"variables": "[1]"}, follow=True)
    assert "Retry not run" in bad.content.decode()
    assert ops.post(f"/instances/{waiting.pk}/incidents/{incident.pk}/retry/").status_code == 404
    assert client_for("agent").post(f"/instances/{failing.pk}/incidents/{incident.pk}/retry/").status_code == 403
