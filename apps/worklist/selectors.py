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
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from apps.core.errors import NotFound
from apps.core.roles import OPS, has_role, user_groups
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


def work_items() -> QuerySet[WorkItem]:
    """Every work item with what a list shows (the assignee's and completer's usernames)."""
    return WorkItem.objects.select_related("assignee", "completed_by")


def _candidate(kind: str, names: Any) -> Exists:
    """Items with a candidate of `kind` among `names` (indexed on kind + name; no join fan-out)."""
    return Exists(WorkItemCandidate.objects.filter(work_item=OuterRef("pk"), kind=kind, name__in=names))


def candidate_filter(user: Any) -> Q:
    """Items `user` is a candidate for: one of their groups, or their username, is a candidate."""
    return Q(_candidate(CandidateKind.GROUP, sorted(user_groups(user)))) | Q(
        _candidate(CandidateKind.USER, [user.get_username()])
    )


def is_candidate(work_item: WorkItem, user: Any) -> bool:
    """True when `user` is a candidate of the item (by group or by username); from its lists, no query."""
    return bool(set(work_item.candidate_groups) & user_groups(user)) or (
        user.get_username() in work_item.candidate_users
    )


def work_items_visible_to(user: Any, queryset: QuerySet[WorkItem] | None = None) -> QuerySet[WorkItem]:
    """The access gate as a queryset: the items `user` may see (none for anonymous users)."""
    queryset = work_items() if queryset is None else queryset
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    if has_role(user, OPS):
        return queryset
    return queryset.filter(Q(assignee=user) | candidate_filter(user))


def work_item_get_for_user(*, user: Any, work_item_id: uuid.UUID | str, lock: bool = False) -> WorkItem:
    """One work item `user` may see, or `NotFound` (also for ids that are not UUIDs).

    With `lock=True` the row is locked (`SELECT ... FOR UPDATE`) for the caller's transaction; the
    services take the instance lock before this one (the pipeline's lock order).
    """
    queryset = work_items_visible_to(user)
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    try:
        item = queryset.filter(pk=work_item_id).first()
    except (ValidationError, ValueError):
        item = None
    if item is None:
        raise NotFound(f"Work item {work_item_id} does not exist.")
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


def overdue_items(queryset: QuerySet[WorkItem], *, now: datetime | None = None) -> QuerySet[WorkItem]:
    """The active items of `queryset` whose due date has passed at `now` (default: the current time)."""
    return queryset.filter(status__in=ACTIVE_STATUSES, due_at__lt=now or timezone.now())


def group_queue(queryset: QuerySet[WorkItem], user: Any) -> QuerySet[WorkItem]:
    """Open, unassigned items of `queryset` that `user` is a candidate for: what they could pick up."""
    return queryset.filter(candidate_filter(user), status="open", assignee__isnull=True)


def work_item_counts_for_user(*, user: Any, now: datetime | None = None) -> dict[str, int]:
    """Badge counts for the inbox: `mine` (active, assigned to me), `group_queue` (open items of my
    groups or naming me, unassigned), `overdue` (active items I see whose due date passed)."""
    visible = work_items_visible_to(user, WorkItem.objects.all())
    active = visible.filter(status__in=ACTIVE_STATUSES)
    return {
        "mine": active.filter(assignee=user).count(),
        "group_queue": group_queue(visible, user).count() if user.is_authenticated else 0,
        "overdue": overdue_items(visible, now=now).count(),
    }


def work_item_comments(*, work_item: WorkItem) -> QuerySet[WorkItemComment]:
    """The comments of an item, oldest first (the caller already passed the gate for the item)."""
    return WorkItemComment.objects.filter(work_item=work_item).select_related("author").order_by("created_at", "id")
