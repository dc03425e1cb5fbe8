"""Which answer `POST /work-items/{id}/complete/` gives when several apply (API.md "Work items").

Access is checked once, on the locked item row; the body is validated before it. Whatever the body
and whatever state the item or its instance is in, a caller who may not see the item gets 404; a
caller who may gets 400 for a bad body, then the 409s, then 400 for a form that rejects the values.
Nothing changes in any of these cases.
"""

from __future__ import annotations

import pytest

from apps.core.errors import NotFound
from apps.instances.models import InstanceEvent
from apps.worklist.services import work_item_claim, work_item_complete, work_item_reassign
from tests.apps.instances.locks import row_lock_held_elsewhere
from tests.apps.worklist import samples

BAD_BODIES = ({"variables": "not an object"}, {"variables": [1, 2]})


@pytest.fixture
def item(deploy, people, start):
    deploy(samples.PLAIN)
    return start("plain")[1]


def complete(client, item, body):
    return client.post(f"/api/v1/work-items/{item.pk}/complete/", body, format="json")


def answer(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def unchanged(item, events_before: int) -> bool:
    status, assignee = item.status, item.assignee_id
    item.refresh_from_db()
    return (item.status, item.assignee_id) == (status, assignee) and (
        InstanceEvent.objects.filter(instance_id=item.instance_id).count() == events_before
    )


def events(item) -> int:
    return InstanceEvent.objects.filter(instance_id=item.instance_id).count()


@pytest.mark.parametrize("body", BAD_BODIES)
def test_a_bad_body_is_404_for_a_caller_who_cannot_see_the_item(item, people, client_for, body) -> None:
    before = events(item)
    assert answer(complete(client_for(people["biller"]), item, body)) == (404, "not_found")
    assert unchanged(item, before)


@pytest.mark.parametrize("body", BAD_BODIES)
def test_a_bad_body_is_400_for_a_caller_who_can_see_the_item(item, people, client_for, body) -> None:
    before = events(item)
    response = complete(client_for(people["seller"]), item, body)
    assert answer(response) == (400, "invalid_input")
    assert response.json()["error"]["details"][0]["field"] == "variables"
    assert unchanged(item, before)


def test_a_bad_body_is_400_before_the_409_of_a_completed_item(item, people, client_for) -> None:
    seller = client_for(people["seller"])
    assert complete(seller, item, {"variables": {}}).status_code == 200
    assert answer(complete(seller, item, BAD_BODIES[0])) == (400, "invalid_input")
    assert answer(complete(seller, item, {"variables": {}})) == (409, "work_item_not_open")


def test_an_item_claimed_by_someone_else_is_404_not_409_for_a_caller_who_cannot_see_it(
    item, people, client_for
) -> None:
    work_item_claim(user=people["seller"], work_item_id=item.pk)
    item.refresh_from_db()
    before = events(item)
    assert answer(complete(client_for(people["biller"]), item, {"variables": {}})) == (404, "not_found")
    assert answer(complete(client_for(people["seller2"]), item, {"variables": {}})) == (
        409, "work_item_claimed_by_other"
    )
    assert unchanged(item, before)


def test_a_completed_item_is_404_not_409_for_a_caller_who_cannot_see_it(item, people, client_for) -> None:
    assert complete(client_for(people["seller"]), item, {"variables": {}}).status_code == 200
    assert answer(complete(client_for(people["biller"]), item, {"variables": {}})) == (404, "not_found")


def test_an_unknown_item_is_404_with_a_good_or_a_bad_body(item, people, client_for) -> None:
    ops = client_for(people["ops"])
    missing = "/api/v1/work-items/00000000-0000-0000-0000-000000000000/complete/"
    for body in ({"variables": {}}, BAD_BODIES[0]):
        assert answer(ops.post(missing, body, format="json")) == (404, "not_found")


def test_an_item_reassigned_away_from_the_caller_is_404(item, people, client_for) -> None:
    work_item_reassign(user=people["ops"], work_item_id=item.pk, candidate_groups=["billing"])
    item.refresh_from_db()
    before = events(item)
    assert answer(complete(client_for(people["seller"]), item, {"variables": {}})) == (404, "not_found")
    assert unchanged(item, before)
    assert complete(client_for(people["biller"]), item, {"variables": {}}).status_code == 200


def test_the_service_refuses_a_caller_who_cannot_see_the_item_with_nothing_changed(item, people) -> None:
    before = events(item)
    with pytest.raises(NotFound):
        work_item_complete(user=people["biller"], work_item_id=item.pk, variables={})
    with pytest.raises(NotFound):
        work_item_complete(user=people["biller"], work_item_id="not-a-uuid", variables={})
    assert unchanged(item, before)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_busy_instance_is_409_only_for_a_caller_who_can_see_the_item(item, people, client_for, settings) -> None:
    settings.PATCHBAY_LOCK_TIMEOUT_MS = 200
    before = events(item)
    with row_lock_held_elsewhere(item.instance_id):
        assert answer(complete(client_for(people["biller"]), item, {"variables": {}})) == (404, "not_found")
        assert answer(complete(client_for(people["seller"]), item, {"variables": {}})) == (409, "instance_busy")
    assert unchanged(item, before)
