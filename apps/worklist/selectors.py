"""Reads of the worklist: small composable querysets and the one access gate.

Access rule (API.md): ops and admins see every work item; anyone else sees the items whose candidate
groups include one of their Django groups, whose candidate users include their username, or that are
assigned to them. Everything else is `NotFound` (never `Forbidden`: an item's existence does not
leak). Every interface - API, web UI, Celery tasks - reads one item through `work_item_get_for_user`
and lists through `work_item_list_for_user`, both built on `work_items_visible_to`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import cache
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Exists, F, Field, ForeignKey, OuterRef, Q, QuerySet
from django.utils import timezone

from apps.core import prepared
from apps.core.errors import NotFound
from apps.core.roles import OPS, has_role, user_groups
from apps.core.rows import select_row
from apps.worklist.models import ACTIVE_STATUSES, CandidateKind, WorkItem, WorkItemCandidate, WorkItemComment

# `?ordering=` values; every one ends with stable tie-breakers, and due dates put "no due date" last.
ORDERINGS: dict[str, tuple[Any, ...]] = {
    "due_at": (F("due_at").asc(nulls_last=True), "-priority", "created_at", "id"),
    "-due_at": (F("due_at").desc(nulls_last=True), "-priority", "created_at", "id"),
    "priority": ("priority", "created_at", "id"),
    "-priority": ("-priority", F("due_at").asc(nulls_last=True), "created_at", "id"),
    "created_at": ("created_at", "id"),
    "-created_at": ("-created_at", "-id"),
}
DEFAULT_ORDERING = "-priority"
ANY_STATUS = "any"
# Counts of lists and badges are exact up to here ("1,000+" beyond): see `capped_count`.
COUNT_CAP = 1_000


def work_items() -> QuerySet[WorkItem]:
    """Every work item with what a list shows (the assignee's and completer's usernames)."""
    return WorkItem.objects.select_related("assignee", "completed_by")


def _rows_naming(rows: Q) -> Exists:
    """Items with a candidate row matching `rows` (indexed on kind + name + item, and on item + kind + name)."""
    return Exists(WorkItemCandidate.objects.filter(rows, work_item=OuterRef("pk")))


def _candidate(kind: str, names: Any) -> Exists:
    """Items with a candidate of `kind` among `names`."""
    return _rows_naming(Q(kind=kind, name__in=names))


def _candidate_rows(user: Any) -> Q:
    return Q(kind=CandidateKind.GROUP, name__in=sorted(user_groups(user))) | Q(
        kind=CandidateKind.USER, name=user.get_username()
    )


def candidate_filter(user: Any) -> Q:
    """Items `user` is a candidate for: one of their groups, or their username, is a candidate."""
    return Q(_rows_naming(_candidate_rows(user)))


def is_candidate(work_item: WorkItem, user: Any) -> bool:
    """True when `user` is a candidate of the item (by group or by username); from its lists, no query."""
    return bool(set(work_item.candidate_groups) & user_groups(user)) or (
        user.get_username() in work_item.candidate_users
    )


def can_see(work_item: WorkItem, user: Any) -> bool:
    """The access rule on a row already read (no query): what `work_items_visible_to` selects."""
    if not getattr(user, "is_authenticated", False):
        return False
    return has_role(user, OPS) or work_item.assignee_id == user.pk or is_candidate(work_item, user)


def work_items_visible_to(user: Any, queryset: QuerySet[WorkItem] | None = None) -> QuerySet[WorkItem]:
    """The access gate as a queryset: the items `user` may see (none for anonymous users).

    One `EXISTS` over the candidate rows - the user's groups, their username, or their id as the
    assignee (`CandidateKind.ASSIGNEE`) - rather than `assignee = me OR EXISTS (...)`: PostgreSQL
    makes a lone `EXISTS` a semi-join and then either walks an inbox index in list order, probing
    each item's rows, until a page is full, or reads the few items of a rare group from the
    candidate index and sorts them; an `OR` leaves it a filter evaluated against all active items.
    """
    queryset = work_items() if queryset is None else queryset
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    if has_role(user, OPS):
        return queryset
    return queryset.filter(_rows_naming(_candidate_rows(user) | Q(kind=CandidateKind.ASSIGNEE, name=str(user.pk))))


def work_item_get_for_user(*, user: Any, work_item_id: uuid.UUID | str) -> WorkItem:
    """One work item `user` may see, or `NotFound` (also for ids that are not UUIDs)."""
    try:
        item = work_items_visible_to(user).filter(pk=work_item_id).order_by().first()
    except (ValidationError, ValueError):
        item = None
    if item is None:
        raise NotFound(f"Work item {work_item_id} does not exist.")
    return item


def work_item_instance_id(*, work_item_id: uuid.UUID | str) -> uuid.UUID | None:
    """The id of the item's instance, or None (also for ids that are not UUIDs). No access check.

    Only for a service that must lock the instance row before the item's (the pipeline's lock
    order) and then reads the item through `work_item_lock_for_user`, which checks access: knowing
    which row to lock tells the caller nothing, and every answer about the item comes after the check.
    An item never moves to another instance, so the id read here is still right under the lock.
    """
    key = _key(work_item_id)
    if key is None:
        return None
    with connection.cursor() as cursor:
        # Hand-written: on every completion, and the ORM took longer to build it than PostgreSQL to answer.
        prepared.execute(cursor, _instance_id_sql(connection.vendor), [_pk_field().get_db_prep_value(key, connection)])
        row = cursor.fetchone()
    return None if row is None else uuid.UUID(str(row[0]))


def _key(work_item_id: uuid.UUID | str) -> uuid.UUID | None:
    try:
        return work_item_id if isinstance(work_item_id, uuid.UUID) else uuid.UUID(str(work_item_id))
    except ValueError:
        return None


def _pk_field() -> Field[Any, Any]:
    pk = WorkItem._meta.pk
    assert pk is not None
    return pk


@cache
def _instance_id_sql(vendor: str) -> str:
    del vendor  # part of the cache key: quoting differs per database
    qn = connection.ops.quote_name
    instance = WorkItem._meta.get_field("instance")
    assert isinstance(instance, ForeignKey)
    table, pk = qn(WorkItem._meta.db_table), qn(str(_pk_field().column))
    return f"SELECT {qn(instance.column)} FROM {table} WHERE {pk} = %s"  # noqa: S608 - names from model metadata


def work_item_lock_for_user(*, user: Any, work_item_id: uuid.UUID | str) -> WorkItem:
    """Lock (`SELECT ... FOR UPDATE`) one work item `user` may see, or `NotFound`.

    For the services, which lock the item's instance first (the pipeline's lock order): the row is
    read by its key and the access rule is checked on the locked row itself (`can_see`: its
    candidate lists and assignee, no `EXISTS`), so the answer cannot be outdated by a reassignment
    committed in between. This is the check that counts; no gate needs to run before it.

    The row alone, by a hand-written statement (`apps.core.rows`; every completion runs it): when the
    caller is the assignee - the usual case - `item.assignee` is the caller without a query; other
    users are read when used.
    """
    key = _key(work_item_id)
    item = None if key is None else select_row(WorkItem, "id", key, lock=True)
    if item is None or not can_see(item, user):
        raise NotFound(f"Work item {work_item_id} does not exist.")
    if item.assignee_id is not None and item.assignee_id == user.pk:
        item.assignee = user
    return item


def work_item_list_for_user(
    *,
    user: Any,
    status: str | None = None,
    mine: bool = False,
    candidate_group: str | None = None,
    process_key: str | None = None,
    overdue: bool = False,
    q: str | None = None,
    ordering: str | None = None,
    now: datetime | None = None,
) -> QuerySet[WorkItem]:
    """The items `user` may see, filtered and ordered.

    `status`: one status, `any`, or (default) the active ones (open and claimed) - an inbox.
    `mine`: assigned to `user`. `candidate_group`: the group is a candidate. `overdue`: active with
    `due_at` before `now`. `q`: the name contains it (case-insensitive). `ordering`: a key of
    `ORDERINGS` (default `-priority`, then earliest due date, then oldest).
    """
    queryset = work_items_visible_to(user)
    if status == ANY_STATUS:
        pass
    elif status:
        queryset = queryset.filter(status=status)
    else:
        queryset = queryset.filter(status__in=ACTIVE_STATUSES)
    if mine:
        queryset = queryset.filter(assignee=user)
    if candidate_group:
        queryset = queryset.filter(_candidate(CandidateKind.GROUP, [candidate_group]))
    if process_key:
        queryset = queryset.filter(process_key=process_key)
    if overdue:
        queryset = overdue_items(queryset, now=now)
    if q:
        queryset = queryset.filter(name__icontains=q)
    return queryset.order_by(*ORDERINGS[ordering or DEFAULT_ORDERING])


def capped_count(queryset: QuerySet[Any], cap: int = COUNT_CAP) -> tuple[int, bool]:
    """`(count, exact)`: the rows of `queryset` counted up to `cap`; `(cap, False)` when more match.

    `COUNT(*)` over a `LIMIT cap + 1` subquery: PostgreSQL stops after `cap + 1` matching rows
    instead of visiting every one (an exact count of 100,000 visible items reads all of them).
    """
    found = queryset.order_by().values("pk")[: cap + 1].count()
    return (found, True) if found <= cap else (cap, False)


def overdue_items(queryset: QuerySet[WorkItem], *, now: datetime | None = None) -> QuerySet[WorkItem]:
    """The active items of `queryset` whose due date has passed at `now` (default: the current time)."""
    return queryset.filter(status__in=ACTIVE_STATUSES, due_at__lt=now or timezone.now())


def group_queue(queryset: QuerySet[WorkItem], user: Any) -> QuerySet[WorkItem]:
    """Open, unassigned items of `queryset` that `user` is a candidate for: what they could pick up."""
    return queryset.filter(candidate_filter(user), status="open", assignee__isnull=True)


def work_item_counts_for_user(*, user: Any, now: datetime | None = None, cap: int | None = None) -> dict[str, int]:
    """Badge counts for the inbox: `mine` (active, assigned to me), `group_queue` (open items of my
    groups or naming me, unassigned), `overdue` (active items I see whose due date passed).

    With `cap`, each count stops at `cap + 1` (read: "more than `cap`"), so a badge costs at most
    `cap + 1` rows however many items wait.
    """
    visible = work_items_visible_to(user, WorkItem.objects.all())
    active = visible.filter(status__in=ACTIVE_STATUSES)
    querysets = {
        "mine": active.filter(assignee=user),
        "group_queue": group_queue(visible, user) if user.is_authenticated else WorkItem.objects.none(),
        "overdue": overdue_items(visible, now=now),
    }
    if cap is None:
        return {name: queryset.count() for name, queryset in querysets.items()}
    return {name: queryset.order_by().values("pk")[: cap + 1].count() for name, queryset in querysets.items()}


def work_item_comments(*, work_item: WorkItem) -> QuerySet[WorkItemComment]:
    """The comments of an item, oldest first (the caller already passed the gate for the item)."""
    return WorkItemComment.objects.filter(work_item=work_item).select_related("author").order_by("created_at", "id")
