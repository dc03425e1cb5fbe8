"""The access gate `work_item_get_for_user`, and every endpoint's use of it (404, never 403)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from apps.core.errors import NotFound
from apps.worklist.selectors import work_item_get_for_user, work_item_list_for_user
from apps.worklist.services import work_item_reassign
from tests.apps.worklist import samples

DETAIL_PATHS = ("", "form/", "comments/")
ACTION_PATHS = ("claim/", "unclaim/", "complete/", "reassign/", "comments/")


@pytest.fixture
def item(deploy, people, start):
    deploy(samples.PLAIN)
    return start("plain")[1]


@pytest.mark.parametrize(
    ("who", "visible"),
    [
        ("seller", True),  # agent of the candidate group
        ("biller", False),  # agent of another group
        ("agent", False),  # agent in no candidate group
        ("analyst", False),
        ("ops", True),
        ("admin", True),
    ],
)
def test_gate_by_role_and_group(item, people, who, visible) -> None:
    if visible:
        assert work_item_get_for_user(user=people[who], work_item_id=item.pk) == item
    else:
        with pytest.raises(NotFound):
            work_item_get_for_user(user=people[who], work_item_id=item.pk)
    assert list(work_item_list_for_user(user=people[who])) == ([item] if visible else [])


def test_gate_for_candidate_users_and_assignees(item, people) -> None:
    biller = people["biller"]
    with pytest.raises(NotFound):
        work_item_get_for_user(user=biller, work_item_id=item.pk)
    work_item_reassign(user=people["ops"], work_item_id=item.pk, assignee="biller")
    assert work_item_get_for_user(user=biller, work_item_id=item.pk) == item  # assigned to them
    item.candidate_users = ["analyst"]
    item.save(update_fields=["candidate_users"])
    from apps.worklist.projection import replace_candidates

    replace_candidates([item])
    assert work_item_get_for_user(user=people["analyst"], work_item_id=item.pk) == item  # candidate user


def test_gate_for_anonymous_and_bad_ids(item, people) -> None:
    with pytest.raises(NotFound):
        work_item_get_for_user(user=AnonymousUser(), work_item_id=item.pk)
    for bad in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        with pytest.raises(NotFound):
            work_item_get_for_user(user=people["ops"], work_item_id=bad)


@pytest.mark.parametrize("path", DETAIL_PATHS)
def test_get_endpoints_hide_items_of_other_groups(item, people, client_for, path) -> None:
    url = f"/api/v1/work-items/{item.pk}/{path}"
    assert client_for(people["seller"]).get(url).status_code == 200
    response = client_for(people["biller"]).get(url)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert client_for(None).get(url).status_code == 401


@pytest.mark.parametrize("path", ACTION_PATHS)
def test_post_endpoints_hide_items_of_other_groups(item, people, client_for, path) -> None:
    url = f"/api/v1/work-items/{item.pk}/{path}"
    body = {"text": "hi", "variables": {}, "assignee": "biller"}
    assert client_for(people["biller"]).post(url, body, format="json").status_code == 404
    assert client_for(None).post(url, body, format="json").status_code == 401
    item.refresh_from_db()
    assert (item.status, item.assignee) == ("open", None)


def test_lists_need_a_signed_in_user(client_for) -> None:
    assert client_for(None).get("/api/v1/work-items/").status_code == 401
    assert client_for(None).get("/api/v1/work-items/counts/").status_code == 401
