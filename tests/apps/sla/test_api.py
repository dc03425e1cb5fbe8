"""The SLA API: breaches (API.md), policies and overrides, calendars; roles and validation errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.sla.models import BusinessCalendar, SlaPolicy
from apps.sla.sweep import deadlines_fire_due
from tests.apps.sla import samples

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops(users, api_client_for):
    return api_client_for(users["ops"])


def test_breaches_list_has_the_contract_shape_and_filters(deploy, start, ops):
    deploy(samples.REVIEW)
    deploy(samples.PLAIN)
    instance = start("review_sla")
    before = timezone.now()
    deadlines_fire_due(now=timezone.now() + timedelta(minutes=61))
    body = ops.get("/api/v1/sla/breaches/", {"process_key": "review_sla"}).json()
    assert body["count"] == 1
    row = body["results"][0]
    assert {"instance_id", "activity_id", "policy", "due_at", "breached_at"} <= set(row)
    assert row["instance_id"] == str(instance.pk) and row["activity_id"] == "review"
    assert row["policy"] == "review_sla/review (model)" and row["kind"] == "breached"
    assert ops.get("/api/v1/sla/breaches/", {"process_key": "plain"}).json()["count"] == 0
    since = (before + timedelta(hours=2)).isoformat()
    assert ops.get("/api/v1/sla/breaches/", {"since": since}).json()["count"] == 0
    assert ops.get("/api/v1/sla/breaches/", {"kind": "all"}).json()["count"] == 2
    assert ops.get("/api/v1/sla/breaches/", {"kind": "at_risk", "page_size": 1}).json()["count"] == 1


def test_breaches_need_ops(users, api_client_for):
    assert api_client_for(None).get("/api/v1/sla/breaches/").status_code == 401
    assert api_client_for(users["agent"]).get("/api/v1/sla/breaches/").status_code == 403
    bad = api_client_for(users["admin"]).get("/api/v1/sla/breaches/", {"since": "yesterday"})
    assert bad.status_code == 400 and bad.json()["error"]["details"][0]["field"] == "since"


def test_policies_of_a_process_merge_model_and_overrides(deploy, ops):
    deploy(samples.REVIEW)
    body = ops.get("/api/v1/sla/policies/", {"process_key": "review_sla"}).json()
    assert [(p["activity_id"], p["target"], p["source"]) for p in body["policies"]] == [
        (None, "PT2H", "model"), ("review", "PT1H", "model")]
    put = ops.put("/api/v1/sla/policies/?process_key=review_sla", {"policies": [
        {"activity_id": "review", "target": "PT30M", "calendar": "business", "timezone": "Europe/Vienna",
         "escalations": [{"action": "reassign", "group": "supervisors"}]},
    ]}, format="json")
    assert put.status_code == 200, put.json()
    review = next(p for p in put.json()["policies"] if p["activity_id"] == "review")
    assert review["target"] == "PT30M" and review["at_risk"] == "PT24M" and review["source"] == "model+override"
    assert review["calendar"] == "business" and review["escalations"][0]["group"] == "supervisors"
    assert ops.get("/api/v1/sla/policies/", {"process_key": "nope"}).status_code == 404


def test_override_crud(deploy, ops):
    deploy(samples.PLAIN)
    created = ops.post("/api/v1/sla/policies/", {"process_key": "plain", "activity_id": "work", "target": "PT4H",
                                                 "at_risk": "75%"}, format="json")
    assert created.status_code == 201, created.json()
    policy_id = created.json()["id"]
    assert created.json()["at_risk"] == "PT3H"
    again = ops.post("/api/v1/sla/policies/", {"process_key": "plain", "activity_id": "work", "target": "PT1H"},
                     format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "policy_exists"
    updated = ops.put(f"/api/v1/sla/policies/{policy_id}/", {"target": "P1D", "calendar": "wall"}, format="json")
    assert updated.status_code == 200 and updated.json()["target"] == "P1D"
    assert ops.get(f"/api/v1/sla/policies/{policy_id}/").json()["calendar"] == "wall"
    assert ops.get("/api/v1/sla/policies/").json()["count"] == 1
    assert ops.delete(f"/api/v1/sla/policies/{policy_id}/").status_code == 204
    assert not SlaPolicy.objects.exists()
    assert ops.get(f"/api/v1/sla/policies/{policy_id}/").status_code == 404


@pytest.mark.parametrize(("body", "code", "field"), [
    ({"target": "PT4X"}, "invalid_duration", "target"),
    ({"target": "P1M"}, "invalid_duration", "target"),
    ({"target": "PT0S"}, "invalid_duration", "target"),
    ({"target": "PT1H", "at_risk": "PT2H"}, "invalid_duration", "at_risk"),
    ({"target": "PT1H", "calendar": "mars"}, "unknown_calendar", "calendar"),
    ({"target": "PT1H", "timezone": "Europe/Atlantis"}, "unknown_timezone", "timezone"),
    ({}, "no_target", "target"),
    ({"target": "PT1H", "escalations": [{"action": "fax"}]}, "invalid_escalation", "escalations[0].action"),
    ({"target": "PT1H", "escalations": [{"action": "webhook", "url": "ftp://x"}]}, "invalid_escalation",
     "escalations[0].url"),
    ({"target": "PT1H", "escalations": [{"action": "email", "to": ["not-an-address"]}]}, "invalid_escalation",
     "escalations[0].to"),
    ({"target": "PT1H", "escalations": [{"action": "priority"}]}, "invalid_escalation", "escalations[0].priority"),
    ({"target": "PT1H", "escalations": [{"action": "reassign", "on": "later", "group": "x"}]}, "invalid_escalation",
     "escalations[0].on"),
])
def test_bad_override_input_is_a_400_naming_the_field(deploy, ops, body, code, field):
    deploy(samples.PLAIN)
    response = ops.post("/api/v1/sla/policies/", {"process_key": "plain", "activity_id": "work", **body},
                        format="json")
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == code and error["details"][0]["field"] == field
    assert field.split(".")[0].split("[")[0] in error["message"]
    assert not SlaPolicy.objects.exists()


def test_unknown_process_and_replace_errors_name_the_item(deploy, ops):
    response = ops.post("/api/v1/sla/policies/", {"process_key": "ghost", "target": "PT1H"}, format="json")
    assert response.json()["error"]["code"] == "unknown_process"
    deploy(samples.PLAIN)
    put = ops.put("/api/v1/sla/policies/?process_key=plain", {"policies": [
        {"activity_id": "work", "target": "PT1H"}, {"activity_id": "", "target": "soon"}]}, format="json")
    assert put.status_code == 400 and put.json()["error"]["details"][0]["field"] == "policies[1].target"
    assert not SlaPolicy.objects.exists()


def test_calendars(ops):
    assert [c["name"] for c in ops.get("/api/v1/sla/calendars/").json()["results"]] == ["austria"]
    created = ops.post("/api/v1/sla/calendars/", {
        "name": "vienna-shop", "country": "AT", "subdivision": "9", "working_days": [0, 1, 2, 3, 4, 5],
        "work_start": "09:00", "work_end": "18:00", "timezone": "Europe/Vienna", "extra_holidays": ["2026-12-31"],
    }, format="json")
    assert created.status_code == 201, created.json()
    bad_tz = ops.post("/api/v1/sla/calendars/", {"name": "x", "timezone": "Nowhere/City"}, format="json")
    assert bad_tz.status_code == 400 and bad_tz.json()["error"]["code"] == "unknown_timezone"
    bad_country = ops.post("/api/v1/sla/calendars/", {"name": "y", "country": "ZZ"}, format="json")
    assert bad_country.status_code == 400 and bad_country.json()["error"]["code"] == "unknown_country"
    bad_hours = ops.post("/api/v1/sla/calendars/", {"name": "z", "work_start": "18:00", "work_end": "09:00"},
                         format="json")
    assert bad_hours.json()["error"]["details"][0]["field"] == "work_end"
    calendar_id = created.json()["id"]
    SlaPolicy.objects.create(process_key="k", activity_id="", target=timedelta(hours=1), calendar="vienna-shop")
    in_use = ops.delete(f"/api/v1/sla/calendars/{calendar_id}/")
    assert in_use.status_code == 409 and in_use.json()["error"]["code"] == "calendar_in_use"
    SlaPolicy.objects.all().delete()
    assert ops.delete(f"/api/v1/sla/calendars/{calendar_id}/").status_code == 204
    assert BusinessCalendar.objects.count() == 1


def test_openapi_documents_the_sla_endpoints(ops):
    schema = ops.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert {"/api/v1/sla/breaches/", "/api/v1/sla/policies/", "/api/v1/sla/calendars/"} <= set(schema["paths"])
