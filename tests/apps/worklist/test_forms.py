"""Form validation on completion: field errors, nothing changed; generated and JSON-schema forms."""

from __future__ import annotations

import pytest

from apps.core.errors import ApiError
from apps.worklist.forms import work_item_form
from apps.worklist.services import work_item_complete
from tests.apps.worklist import samples


def complete(client, item, variables):
    return client.post(f"/api/v1/work-items/{item.pk}/complete/", {"variables": variables}, format="json")


def fields(response) -> list[tuple[str, str]]:
    return [(d["field"], d["code"]) for d in response.json()["error"]["details"]]


@pytest.fixture
def review(deploy, people, start):
    deploy(samples.REVIEW)
    return start("review")


def test_camunda_constraints_reject_with_field_errors_and_change_nothing(review, people, client_for) -> None:
    instance, item = review
    snapshot, seq = instance.snapshot, instance.event_seq
    response = complete(client_for(people["seller"]), item, {
        "amount": 5000, "note": "far too long a note", "decision": "maybe", "customer": "Evil Corp",
        "start_on": "31/12/2026", "extra": 1,
    })
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_form"
    assert fields(response) == [
        ("amount", "maximum"), ("customer", "read_only"), ("decision", "enum"), ("extra", "unexpected"),
        ("note", "maxLength"), ("start_on", "format"),
    ]
    instance.refresh_from_db()
    item.refresh_from_db()
    assert (instance.snapshot, instance.event_seq) == (snapshot, seq)
    assert (item.status, item.assignee) == ("open", None)  # not even the implicit claim


def test_required_and_type_errors(review, people, client_for) -> None:
    _, item = review
    assert fields(complete(client_for(people["seller"]), item, {})) == [("amount", "required")]
    assert fields(complete(client_for(people["seller"]), item, {"amount": "12"})) == [("amount", "type")]
    assert fields(complete(client_for(people["seller"]), item, {"amount": 0})) == [("amount", "minimum")]


def test_valid_camunda_form_data_completes(review, people, client_for) -> None:
    instance, item = review
    values = {"amount": 10, "note": "ok", "decision": "approve", "customer": "ACME", "start_on": "2026-12-31"}
    assert complete(client_for(people["seller"]), item, values).status_code == 200
    instance.refresh_from_db()
    assert instance.status == "completed"
    assert instance.variables["amount"] == 10


def test_form_helper_gives_schema_ui_schema_and_values(review, people, client_for) -> None:
    _, item = review
    body = client_for(people["seller"]).get(f"/api/v1/work-items/{item.pk}/form/").json()
    assert body["kind"] == "camunda"
    assert body["schema"]["properties"]["amount"]["maximum"] == 1000
    assert body["ui_schema"]["decision"] == {"ui:enumNames": ["Approve", "Reject"]}
    assert body["values"] == {"customer": "ACME"}
    assert body["read_only_fields"] == ["customer"]
    view = work_item_form(work_item=item, variables={"amount": 7})
    assert view.values == {"amount": 7, "customer": "ACME"}


def test_json_schema_form_from_a_zip(deploy, people, start, client_for) -> None:
    deploy(samples.JSON_FORM, "model.zip")
    _, item = start("json_form")
    assert item.form["kind"] == "json_schema"
    assert item.form["ui_schema"] == samples.APPROVE_UI
    seller = client_for(people["seller"])
    bad = complete(seller, item, {"reason": "no", "contact": {"email": "nope"}})
    assert fields(bad) == [("approved", "required"), ("contact.email", "pattern"), ("reason", "minLength")]
    good = complete(seller, item, {"approved": True, "reason": "fine by me", "contact": {"email": "a@b.c"}})
    assert good.status_code == 200


def test_items_without_a_form_take_any_variables(deploy, people, start) -> None:
    deploy(samples.PLAIN)
    _, item = start("plain")
    assert work_item_form(work_item=item).kind == "none"
    done = work_item_complete(user=people["seller"], work_item_id=item.pk, variables={"anything": [1, 2]})
    assert done.status == "completed"


def test_service_raises_invalid_form_with_details(review, people) -> None:
    _, item = review
    with pytest.raises(ApiError) as caught:
        work_item_complete(user=people["seller"], work_item_id=item.pk, variables={"amount": -1})
    assert caught.value.code == "invalid_form"
    message = "-1 is less than the minimum of 1"
    assert caught.value.details == [{"field": "amount", "code": "minimum", "message": message}]
