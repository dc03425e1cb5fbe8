"""The inbox query against a naive reference, the capped count, and one access check per request.

The list's SQL (one `EXISTS` over candidate and assignee rows, inbox indexes) is checked here against
the access rule written out in Python over every row, for a mixed data set: groups, candidate users,
model-assigned items, claims, releases, reassignments, completions, equal and distinct priorities and
due dates.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core import prepared
from apps.worklist.models import ACTIVE_STATUSES, CandidateKind, WorkItem, WorkItemCandidate
from apps.worklist.pagination import CappedCountPagination
from apps.worklist.selectors import ORDERINGS, capped_count, work_item_list_for_user
from apps.worklist.services import work_item_claim, work_item_complete, work_item_reassign, work_item_unclaim
from tests.apps.worklist import samples

LIST = "/api/v1/work-items/"
NEVER = float("inf")


@pytest.fixture
def mixed(deploy, people, make_user, start) -> dict[str, Any]:
    """Items of several groups and candidate users, some assigned, claimed, released, completed."""
    deploy(samples.DYNAMIC)
    deploy(samples.LANED)
    east = make_user("east", "agent", "east_sales")
    west = make_user("west", "agent", "west_sales", "east_sales")
    loner = make_user("loner", "agent")
    made = []
    for index, (region, helpers, sla, vip) in enumerate(itertools.product(
        ("east", "west", "north"), ([], ["loner"], ["east", "loner"]), ("", "PT1H", "PT2H"), (False, True),
    )):
        if index % 3 != 2:
            made.append(start("dynamic", region=region, helpers=helpers, sla=sla, vip=vip)[1])
    made += [start("laned")[1] for _ in range(3)]  # assigned by the model to `agent`
    _ties(made)
    work_item_claim(user=east, work_item_id=made[0].pk)
    work_item_claim(user=west, work_item_id=made[1].pk)
    work_item_unclaim(user=west, work_item_id=made[1].pk)
    work_item_complete(user=east, work_item_id=made[2].pk, variables={})
    work_item_reassign(user=people["ops"], work_item_id=made[3].pk, assignee="loner")  # outside its groups
    work_item_reassign(user=people["ops"], work_item_id=made[4].pk, candidate_groups=["north_sales"])
    work_item_reassign(user=people["ops"], work_item_id=made[5].pk, assignee="biller", candidate_groups=["x"])
    work_item_complete(user=people["biller"], work_item_id=made[5].pk, variables={})
    users = [east, west, loner, people["agent"], people["biller"], people["ops"], people["analyst"]]
    return {"users": users}


def _ties(items: list[WorkItem]) -> None:
    """Equal creation times and priorities in pairs, so the tie-breakers decide."""
    base = timezone.now() - timedelta(days=1)
    for index, item in enumerate(items):
        WorkItem.objects.filter(pk=item.pk).update(
            created_at=base + timedelta(minutes=index // 2), priority=40 + 10 * (index % 3)
        )


def _sees(user: Any, item: WorkItem) -> bool:
    groups = set(user.groups.values_list("name", flat=True))
    if user.is_superuser or groups & {"ops", "admin"}:
        return True
    return item.assignee_id == user.pk or bool(groups & set(item.candidate_groups)) or (
        user.username in item.candidate_users
    )


def _time(value: Any) -> float:
    return value.timestamp() if value is not None else NEVER


def _sort_key(ordering: str, item: WorkItem) -> tuple[Any, ...]:
    due, created, pk = _time(item.due_at), item.created_at.timestamp(), item.pk.int
    late_last = -due if due != NEVER else NEVER  # descending due date, still no date last
    return {
        "due_at": (due, -item.priority, created, pk),
        "-due_at": (late_last, -item.priority, created, pk),
        "priority": (item.priority, created, pk),
        "-priority": (-item.priority, due, created, pk),
        "created_at": (created, pk),
        "-created_at": (-created, -pk),
    }[ordering]


def _reference(user: Any, *, status: str | None, mine: bool, group: str | None, ordering: str) -> list[Any]:
    rows = [item for item in WorkItem.objects.all() if _sees(user, item)]
    if status == "any":
        pass
    elif status:
        rows = [item for item in rows if item.status == status]
    else:
        rows = [item for item in rows if item.status in ACTIVE_STATUSES]
    if mine:
        rows = [item for item in rows if item.assignee_id == user.pk]
    if group:
        rows = [item for item in rows if group in item.candidate_groups]
    return [item.pk for item in sorted(rows, key=lambda item: _sort_key(ordering, item))]


def test_assignee_rows_follow_every_assignment(mixed) -> None:
    rows = set(WorkItemCandidate.objects.filter(kind=CandidateKind.ASSIGNEE).values_list("work_item_id", "name"))
    assigned = set(WorkItem.objects.filter(assignee__isnull=False).values_list("pk", "assignee_id"))
    assert rows == {(pk, str(user_id)) for pk, user_id in assigned}
    assert len(assigned) >= 5  # model-assigned, claimed, reassigned and completed items among them


@pytest.mark.parametrize("ordering", list(ORDERINGS))
def test_lists_match_the_naive_reference_in_rows_and_order(mixed, ordering) -> None:
    combos = list(itertools.product((None, "open", "claimed", "completed", "any"), (False, True), (None, "east_sales")))
    checked = 0
    for user in mixed["users"]:
        for status, mine, group in combos:
            got = work_item_list_for_user(user=user, status=status, mine=mine, candidate_group=group,
                                          ordering=ordering)
            expected = _reference(user, status=status, mine=mine, group=group, ordering=ordering)
            assert [item.pk for item in got] == expected, (user.username, status, mine, group)
            checked += len(expected)
    assert checked > 50  # the data set is not trivially empty for these users


def test_capped_count_is_exact_up_to_the_cap(mixed) -> None:
    ops = mixed["users"][5]
    everything = work_item_list_for_user(user=ops, status="any")
    total = everything.count()
    assert capped_count(everything, cap=total) == (total, True)
    assert capped_count(everything, cap=total - 1) == (total - 1, False)
    assert capped_count(everything.none()) == (0, True)


def test_list_count_is_capped_and_paging_still_reaches_the_last_item(mixed, client_for, monkeypatch) -> None:
    monkeypatch.setattr(CappedCountPagination, "count_cap", 3)
    ops = client_for(mixed["users"][5])
    total = len(_reference(mixed["users"][5], status="any", mine=False, group=None, ordering="-priority"))
    first = ops.get(LIST, {"status": "any", "page_size": 2}).json()
    assert (first["count"], first["count_exact"], len(first["results"])) == (3, False, 2)
    assert ops.get(LIST, {"status": "any", "page_size": 2, "exact_count": "true"}).json()["count"] == total
    last_page = (total + 1) // 2
    last = ops.get(LIST, {"status": "any", "page_size": 2, "page": last_page}).json()
    assert last["next"] is None and last["previous"] is not None
    assert (last["count"], last["count_exact"]) == (total, True)  # the end was reached: exact, no count query
    assert ops.get(LIST, {"status": "any", "page_size": 2, "page": last_page + 1}).status_code == 404
    seen = []
    url: str | None = f"{LIST}?status=any&page_size=2"
    while url:
        page = ops.get(url).json()
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    assert len(seen) == len(set(seen)) == total


def test_small_lists_report_an_exact_count(mixed, client_for) -> None:
    east = mixed["users"][0]
    body = client_for(east).get(LIST).json()
    expected = _reference(east, status=None, mine=False, group=None, ordering="-priority")
    assert (body["count"], body["count_exact"]) == (len(expected), True)
    assert [row["id"] for row in body["results"]] == [str(pk) for pk in expected]


def test_completing_through_the_api_checks_access_on_the_locked_row_without_the_gate_query(
    deploy, people, start, client_for
) -> None:
    deploy(samples.PLAIN)
    item = start("plain")[1]
    with CaptureQueriesContext(connection) as queries:
        response = client_for(people["seller"]).post(f"{LIST}{item.pk}/complete/", {"variables": {}}, format="json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["completed_by"]) == ("completed", "seller")
    ran = [prepared.statement(q["sql"]) for q in queries.captured_queries]
    gates = [sql for sql in ran if "EXISTS" in sql and "workitemcandidate" in sql]
    # The access rule runs on the row `work_item_lock_for_user` locked (`can_see`), not as the gate's EXISTS.
    assert gates == []
    if connection.features.has_select_for_update:  # SQLite locks the whole database, no row lock to see
        locked_reads = [sql for sql in ran if 'FROM "worklist_workitem"' in sql and sql.endswith("FOR UPDATE")]
        assert len(locked_reads) == 1
