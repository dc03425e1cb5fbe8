"""The ops SLA overrides page (`/ops/sla/`): the API's services and validation behind HTML forms."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from apps.sla.models import SlaPolicy
from tests.apps.sla import samples
from tests.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.django_db
URL = "/ops/sla/"


def client_for(username: str) -> Client:
    client = Client(enforce_csrf_checks=True)
    assert client.login(username=username, password=DEMO_PASSWORD)
    return client


def post(client: Client, url: str, data: dict[str, str]):
    """A form POST with the CSRF token the page hands out, as a browser sends it."""
    page = client.get(URL)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert token, "the page has no CSRF token"
    return client.post(url, {"csrfmiddlewaretoken": token.group(1), **data})


def form(**fields: str) -> dict[str, str]:
    return {"process_key": "plain", "activity_id": "work", "enabled": "on", "target": "PT4H", "at_risk": "",
            "calendar": "", "timezone": "", "pause_on_suspend": "", "escalations": "", **fields}


def field_error(html: str, field: str) -> str:
    """The error paragraph rendered beside `field` (id_<field>_error)."""
    found = re.search(rf'<p class="field-error" id="id_{field}_error">(.*?)</p>', html, re.S)
    assert found, f"no error beside {field}"
    return found.group(1)


def test_ops_creates_an_override_that_is_listed_and_effective(users, deploy, api_client_for):
    deploy(samples.PLAIN)
    ops = client_for("ops")
    escalations = json.dumps([{"on": "breached", "action": "reassign", "group": "supervisors"}])
    response = post(ops, URL, form(at_risk="75%", calendar="business", timezone="Europe/Vienna",
                                   pause_on_suspend="false", escalations=escalations))
    assert response.status_code == 302 and response["Location"] == URL
    policy = SlaPolicy.objects.get()
    assert (policy.process_key, policy.activity_id, policy.pause_on_suspend) == ("plain", "work", False)

    page = ops.get(URL)
    html = page.content.decode()
    assert "Saved the SLA override of plain/work" in html
    assert "PT4H" in html and "PT3H" in html and "model+override" not in html and ">override<" in html
    assert f"/ops/sla/{policy.pk}/" in html and "<li>breached: reassign</li>" in html

    body = api_client_for(users["ops"]).get("/api/v1/sla/policies/", {"process_key": "plain"}).json()
    work = next(p for p in body["policies"] if p["activity_id"] == "work")
    assert work["target"] == "PT4H" and work["at_risk"] == "PT3H" and work["source"] == "override"
    assert work["calendar"] == "business" and work["timezone"] == "Europe/Vienna"
    assert work["pause_on_suspend"] is False and work["escalations"][0]["group"] == "supervisors"


def test_edit_keeps_the_element_and_revalidates(users, deploy):
    deploy(samples.REVIEW)
    ops = client_for("ops")
    assert post(ops, URL, form(process_key="review_sla", activity_id="review", target="PT30M")).status_code == 302
    policy = SlaPolicy.objects.get()
    edit = f"/ops/sla/{policy.pk}/"
    assert 'value="PT30M"' in ops.get(edit).content.decode()
    bad = post(ops, edit, form(process_key="other", activity_id="x", target="soon"))
    assert bad.status_code == 400 and "not an ISO 8601 duration" in field_error(bad.content.decode(), "target")
    ok = post(ops, edit, form(process_key="other", activity_id="x", target="", at_risk="PT50M"))
    assert ok.status_code == 302
    policy.refresh_from_db()
    assert (policy.process_key, policy.activity_id, policy.target, str(policy.at_risk)) == (
        "review_sla", "review", None, "0:50:00")


@pytest.mark.parametrize(("fields", "field", "text"), [
    ({"target": "PT4X"}, "target", "'PT4X' is not an ISO 8601 duration"),
    ({"target": "PT1H", "at_risk": "PT2H"}, "at_risk", "not shorter than the target"),
    ({"calendar": "mars"}, "calendar", "mars"),
    ({"timezone": "Europe/Atlantis"}, "timezone", "Europe/Atlantis"),
    ({"escalations": '[{"action": "fax"}]'}, "escalations", "escalations[0].action"),
    ({"escalations": "[{"}, "escalations", "Not valid JSON"),
    ({"process_key": "ghost"}, "process_key", "ghost"),
    ({"target": ""}, "target", "give a target"),
])
def test_invalid_input_is_shown_beside_the_field_and_stores_nothing(users, deploy, fields, field, text):
    deploy(samples.PLAIN)
    response = post(client_for("ops"), URL, form(**fields))
    assert response.status_code == 400
    html = response.content.decode()
    assert text in field_error(html, field).replace("&#x27;", "'")
    assert 'aria-invalid="true"' in html
    assert not SlaPolicy.objects.exists()


def test_user_input_is_escaped(users, deploy):
    deploy(samples.PLAIN)
    response = post(client_for("ops"), URL, form(calendar="<script>alert(1)</script>"))
    html = response.content.decode()
    assert response.status_code == 400 and "<script>alert(1)" not in html and "&lt;script&gt;" in html


def test_a_second_override_of_the_same_element_is_refused(users, deploy):
    deploy(samples.PLAIN)
    ops = client_for("ops")
    assert post(ops, URL, form()).status_code == 302
    again = post(ops, URL, form(target="PT1H"))
    assert again.status_code == 400 and "already has an override" in again.content.decode()
    assert SlaPolicy.objects.get().target.total_seconds() == 4 * 3600


def test_delete_removes_the_override(users, deploy, api_client_for):
    deploy(samples.PLAIN)
    ops = client_for("ops")
    post(ops, URL, form())
    policy = SlaPolicy.objects.get()
    assert ops.get(f"/ops/sla/{policy.pk}/delete/").status_code == 405
    response = post(ops, f"/ops/sla/{policy.pk}/delete/", {})
    assert response.status_code == 302 and not SlaPolicy.objects.exists()
    assert "Removed the SLA override of plain/work" in ops.get(URL).content.decode()
    body = api_client_for(users["ops"]).get("/api/v1/sla/policies/", {"process_key": "plain"}).json()
    assert body["policies"] == [] and body["overrides"] == []
    assert post(ops, f"/ops/sla/{policy.pk}/delete/", {}).status_code == 404


def test_the_dashboard_links_the_page_and_admins_may_use_it(users, deploy):
    deploy(samples.PLAIN)
    admin = client_for("admin")
    assert URL in admin.get("/ops/").content.decode()
    assert admin.get(URL).status_code == 200
    assert post(admin, URL, form()).status_code == 302


def test_only_ops_and_admins(users, deploy):
    deploy(samples.PLAIN)
    policy = SlaPolicy.objects.create(process_key="plain", activity_id="work")
    agent = Client()
    assert agent.login(username="agent", password=DEMO_PASSWORD)
    for url in (URL, f"/ops/sla/{policy.pk}/"):
        assert agent.get(url).status_code == 403
        assert agent.post(url, form()).status_code == 403
        assert Client().get(url).status_code == 302
    assert agent.post(f"/ops/sla/{policy.pk}/delete/").status_code == 403
    assert SlaPolicy.objects.count() == 1
