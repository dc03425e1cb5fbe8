"""`GET /work-items/`: filters, ordering, paging, overdue; and the counts endpoint."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.worklist.models import WorkItem
from apps.worklist.selectors import work_item_counts_for_user
from apps.worklist.services import work_item_claim, work_item_complete
from tests.apps.worklist import samples

LIST = "/api/v1/work-items/"


@pytest.fixture
def items(deploy, people, start) -> list[WorkItem]:
    """Four sales items with distinct priorities and due dates (one without a due date)."""
    deploy(samples.DYNAMIC)
    made = []
    for sla, vip in (("PT3H", False), ("PT1H", True), ("", False), ("PT2H", True)):
        made.append(start("dynamic", region="east", helpers=[], sla=sla, vip=vip)[1])
    return made


def names(response) -> list[str]:
    return [row["id"] for row in response.json()["results"]]


def test_contract_fields(items, make_user, client_for) -> None:
    east = make_user("east", "agent", "east_sales")
    row = client_for(east).get(LIST).json()["results"][0]
    assert {"id", "instance_id", "activity_id", "name", "status", "assignee", "candidate_groups", "due_at",
            "priority", "form"} <= set(row)


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("due_at", [1, 3, 0, 2]),  # no due date last
        ("-due_at", [0, 3, 1, 2]),
        ("priority", [0, 2, 1, 3]),
        ("-priority", [1, 3, 0, 2]),  # default: priority, then earliest due
        ("created_at", [0, 1, 2, 3]),
    ],
)
def test_ordering(items, make_user, client_for, ordering, expected) -> None:
    east = make_user("east", "agent", "east_sales")
    response = client_for(east).get(LIST, {"ordering": ordering})
    assert names(response) == [str(items[i].pk) for i in expected]


def test_default_ordering_and_bad_ordering(items, make_user, client_for) -> None:
    east = client_for(make_user("east", "agent", "east_sales"))
    assert names(east.get(LIST)) == names(east.get(LIST, {"ordering": "-priority"}))
    assert east.get(LIST, {"ordering": "name"}).status_code == 400


def test_filters(items, make_user, people, client_for) -> None:
    east_user = make_user("east", "agent", "east_sales")
    east = client_for(east_user)
    work_item_claim(user=east_user, work_item_id=items[0].pk)
    work_item_complete(user=east_user, work_item_id=items[1].pk, variables={})
    ids = [str(i.pk) for i in items]
    assert set(names(east.get(LIST))) == {ids[0], ids[2], ids[3]}  # active by default
    assert names(east.get(LIST, {"status": "completed"})) == [ids[1]]
    assert set(names(east.get(LIST, {"status": "any"}))) == set(ids)
    assert names(east.get(LIST, {"status": "claimed"})) == [ids[0]]
    assert names(east.get(LIST, {"mine": "true"})) == [ids[0]]
    assert len(names(east.get(LIST, {"candidate_group": "east_sales"}))) == 3
    assert names(east.get(LIST, {"candidate_group": "west_sales"})) == []
    assert len(names(east.get(LIST, {"process_key": "dynamic"}))) == 3
    assert names(east.get(LIST, {"process_key": "other"})) == []
    assert len(names(east.get(LIST, {"q": "REGIONAL"}))) == 3
    assert names(east.get(LIST, {"q": "nothing"})) == []
    assert east.get(LIST, {"status": "bogus"}).status_code == 400
    assert names(client_for(people["biller"]).get(LIST)) == []


def test_paging(items, make_user, client_for) -> None:
    east = client_for(make_user("east", "agent", "east_sales"))
    page = east.get(LIST, {"page_size": 3}).json()
    assert (page["count"], len(page["results"])) == (4, 3)
    assert len(east.get(LIST, {"page_size": 3, "page": 2}).json()["results"]) == 1


def test_overdue_filter_and_counts(items, make_user, people, client_for) -> None:
    east_user = make_user("east", "agent", "east_sales")
    later = timezone.now() + timedelta(hours=4)  # past the 3 h item too
    overdue = {str(items[1].pk), str(items[3].pk)}
    WorkItem.objects.filter(pk__in=overdue).update(due_at=timezone.now() - timedelta(minutes=1))
    assert set(names(client_for(east_user).get(LIST, {"overdue": "true"}))) == overdue
    work_item_claim(user=east_user, work_item_id=items[0].pk)
    counts = work_item_counts_for_user(user=east_user, now=later)
    assert counts == {"mine": 1, "group_queue": 3, "overdue": 3}
    response = client_for(east_user).get("/api/v1/work-items/counts/")
    assert response.json() == {"mine": 1, "group_queue": 3, "overdue": 2}
    assert client_for(people["biller"]).get("/api/v1/work-items/counts/").json() == {
        "mine": 0, "group_queue": 0, "overdue": 0,
    }
    assert client_for(people["ops"]).get("/api/v1/work-items/counts/").json()["overdue"] == 2
