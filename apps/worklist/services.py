"""Writes of the worklist: claim, unclaim, complete, comment, reassign.

Every service, in one transaction, locks the item's *instance* row and after it the work item row by
its key - the pipeline's lock order, so a service never deadlocks with a step - checks the access
rule on the locked row (`work_item_lock_for_user`: an item the caller may not see is `NotFound`)
and writes. Which instance to lock is read by the item's key (or from `seen=`, an item a view read
through the gate `work_item_get_for_user` to answer 404 before 400); so the access rule runs once
per request on the success path, and on the row as it is under the lock. Claims,
releases, reassignments and comments are recorded in the instance's audit trail
(`work_item.claimed`, `.unclaimed`, `.reassigned`, `.commented`) with the trail's own sequence,
under the same instance lock the pipeline uses.

Completion follows Camunda Tasklist: an *open* item is claimed implicitly by whoever completes it
(anyone who passes the gate: a candidate, or ops), then completed through the step pipeline
(`instance_step` + `CompleteWorkItemCommand`) in the same transaction; the claim's audit event is
handed to the step (`events_before`), which records it ahead of its own. A 409 or 400 changes nothing.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from apps.core.errors import ApiError, Conflict, Forbidden, NotFound
from apps.core.roles import OPS, has_role
from apps.core.rows import select_row, update_row
from apps.instances.commands import CompleteWorkItemCommand
from apps.instances.locking import lock_instance_bounded
from apps.instances.models import InstanceStatus, ProcessInstance
from apps.instances.pipeline import instance_step
from apps.instances.trail import EventDraft, append_events
from apps.worklist.forms import form_validate
from apps.worklist.models import WorkItem, WorkItemComment, WorkItemStatus
from apps.worklist.projection import assignee_row_set, replace_candidates
from apps.worklist.selectors import work_item_get_for_user, work_item_instance_id, work_item_lock_for_user

MAX_COMMENT_LENGTH = 10_000
MAX_NAME_LENGTH = 150

ItemId = uuid.UUID | str


class Keep(enum.Enum):
    """Sentinel for `work_item_reassign`: leave the assignee as it is."""

    KEEP = "keep"


KEEP = Keep.KEEP


def _locked(user: Any, work_item_id: ItemId, seen: WorkItem | None = None) -> tuple[ProcessInstance, WorkItem]:
    """Lock the item's instance row, then the item row, and check access on the locked item (call
    inside `_locking_transaction`). `NotFound` for an item `user` may not see, whatever else holds.

    The instance id is read by the item's key without an access check (or taken from `seen`, an item
    a view already read through the gate): it only says which row to lock first. The access rule
    runs once, on the locked row (`work_item_lock_for_user`), where a reassignment cannot outdate it.
    """
    instance_id: uuid.UUID | None
    if seen is not None and str(seen.pk) == str(work_item_id):
        instance_id = seen.instance_id
    else:
        instance_id = work_item_instance_id(work_item_id=work_item_id)
    if instance_id is None:
        raise NotFound(f"Work item {work_item_id} does not exist.")
    try:
        instance = lock_instance_bounded(instance_id)
    except NotFound as exc:  # the instance went away in between (deleted with its items)
        raise NotFound(f"Work item {work_item_id} does not exist.") from exc
    return instance, work_item_lock_for_user(user=user, work_item_id=work_item_id)


@contextmanager
def _locking_transaction(user: Any, work_item_id: ItemId) -> Iterator[None]:
    """`transaction.atomic()` for a service that calls `_locked`.

    A lock wait that timed out (`instance_busy`) would tell a caller who may not see the item that
    it exists, before `_locked` checked access: such a caller gets the gate's `NotFound` instead.
    The gate runs after the rollback (the failed lock statement aborted the transaction).
    """
    try:
        with transaction.atomic():
            yield
    except Conflict as exc:
        if exc.code == "instance_busy":
            work_item_get_for_user(user=user, work_item_id=work_item_id)
        raise


def _event(item: WorkItem, event: str, **data: Any) -> EventDraft:
    """A `work_item.*` audit event about `item`."""
    return EventDraft(event, activity_id=item.activity_id, data={"work_item_id": str(item.pk), **data})


def _record(instance: ProcessInstance, draft: EventDraft, user: Any, now: datetime) -> None:
    """Append one `work_item.*` event to the instance's trail (the instance row is locked)."""
    append_events(instance=instance, drafts=[draft], actor=user.get_username(), now=now)
    # Hand-built UPDATE (`apps.core.rows`), as the pipeline writes the row: nobody listens to its saves.
    update_row(instance, ["event_seq"])


def _require_active(item: WorkItem) -> None:
    if not item.is_active:
        raise Conflict(f"The work item is {item.status}, not open.", code="work_item_not_open")


def _claim_rows(item: WorkItem, user: Any, now: datetime, **data: Any) -> EventDraft:
    """Write the claim of `item` by `user` (the row and its assignee row); return its audit event,
    which the caller records."""
    previous = item.assignee_id
    item.status = WorkItemStatus.CLAIMED
    item.assignee = user
    item.claimed_at = now
    item.version += 1
    update_row(item, ["status", "assignee", "claimed_at", "version"])  # every completion of an open item
    assignee_row_set(item, previous)
    return _event(item, "work_item.claimed", assignee=user.get_username(), **data)


def work_item_claim(*, user: Any, work_item_id: ItemId) -> WorkItem:
    """Claim an open item for `user`. Idempotent when it is already theirs.

    `Conflict`: `work_item_not_open` (completed or cancelled), `work_item_claimed_by_other`,
    `instance_suspended`.
    """
    now = timezone.now()
    with _locking_transaction(user, work_item_id):
        instance, item = _locked(user, work_item_id)
        _require_active(item)
        if item.assignee_id == user.pk:
            return item
        if item.assignee_id is not None:
            raise Conflict("Someone else has claimed this work item.", code="work_item_claimed_by_other")
        if instance.status == InstanceStatus.SUSPENDED:
            raise Conflict("The instance is suspended.", code="instance_suspended")
        _record(instance, _claim_rows(item, user, now), user, now)
        return item


def work_item_unclaim(*, user: Any, work_item_id: ItemId) -> WorkItem:
    """Put a claimed item back in its queue; only its assignee or ops may. Idempotent when open.

    `Forbidden` (`not_assignee`) for anyone else; `Conflict` (`work_item_not_open`) once finished.
    """
    now = timezone.now()
    with _locking_transaction(user, work_item_id):
        instance, item = _locked(user, work_item_id)
        _require_active(item)
        if item.assignee_id is None:
            return item
        if item.assignee_id != user.pk and not has_role(user, OPS):
            raise Forbidden("Only the assignee or ops may release this work item.", code="not_assignee")
        previous = item.assignee.get_username() if item.assignee else None
        previous_id = item.assignee_id
        item.status, item.assignee, item.claimed_at = WorkItemStatus.OPEN, None, None
        item.version += 1
        item.save(update_fields=["status", "assignee", "claimed_at", "version"])
        assignee_row_set(item, previous_id)
        _record(instance, _event(item, "work_item.unclaimed", previous_assignee=previous), user, now)
        return item


def work_item_complete(*, user: Any, work_item_id: ItemId, variables: dict[str, Any],
                       seen: WorkItem | None = None) -> WorkItem:
    """Complete an item with the submitted variables and advance the instance, in one transaction.

    Checks in order, each raising with nothing changed: `Conflict` `work_item_not_open`, then
    `work_item_claimed_by_other`; `ApiError` 400 `invalid_form` with `[{"field", "code", "message"}]`;
    the pipeline's own 409s (`instance_suspended`, `instance_busy` ...). An open item is claimed by
    `user` first (Camunda Tasklist behaviour). If the step itself fails, its incident and the claim
    are kept and `ApiError` 422 `step_failed` is raised after the commit. An item `user` may not see
    is `NotFound` before any of these. `seen`: the item as the caller read it through
    `work_item_get_for_user` (only its instance id is used; access is checked under the lock).
    """
    now = timezone.now()
    with _locking_transaction(user, work_item_id):
        instance, item = _locked(user, work_item_id, seen)
        _require_active(item)
        if item.assignee_id is not None and item.assignee_id != user.pk:
            raise Conflict("Someone else has claimed this work item.", code="work_item_claimed_by_other")
        errors = form_validate(form=item.form, data=variables, current=instance.variables)
        if errors:
            fields = ", ".join(dict.fromkeys(e.field for e in errors))
            raise ApiError(f"The form has invalid fields: {fields}.", code="invalid_form",
                           details=[e.as_dict() for e in errors])
        # The implicit claim's event goes to the step, which records it ahead of its own events in one
        # INSERT and writes the instance row once (also when the step fails: then before its incident).
        claimed = [_claim_rows(item, user, now, implicit=True)] if item.status == WorkItemStatus.OPEN else []
        command = CompleteWorkItemCommand(work_item_id=str(item.pk), variables=dict(variables))
        # We hold the instance lock and `instance` is the row as it stands: the step need not re-read it.
        instance_step(instance_id=instance.pk, command=command, actor=user.get_username(), now=now,
                      locked=instance, events_before=claimed)
        _reread_after_step(item)
    if item.status != WorkItemStatus.COMPLETED:
        raise ApiError(
            "The work item could not be completed: the step failed and an incident was opened for ops.",
            code="step_failed",
            status_code=422,
            details=[{"code": "incident_opened", "message": "see the instance's incidents",
                      "element_id": item.activity_id}],
        )
    return item


def _reread_after_step(item: WorkItem) -> None:
    """Read back what the step's projection wrote to the item (completion, or nothing if it failed).

    Only the columns it sets: the assignee is unchanged (the caller), and the projection makes the
    completer the assignee, so neither user needs reading again.
    """
    row = select_row(WorkItem, "id", item.pk)  # hand-built, as the locked read (`apps.core.rows`)
    if row is None:  # only the step itself could have deleted it (it holds the lock): as the ORM's `get`
        raise WorkItem.DoesNotExist(f"Work item {item.pk} is gone after its step.")
    item.status, item.completed_at, item.version = row.status, row.completed_at, row.version
    if row.completed_by_id is not None and row.completed_by_id == item.assignee_id:
        item.completed_by = item.assignee
    else:
        item.completed_by_id = row.completed_by_id


def work_item_comment(*, user: Any, work_item_id: ItemId, text: str, seen: WorkItem | None = None) -> WorkItemComment:
    """Add a comment (stored verbatim, never rendered here) to an item the user may see (`seen`: as
    for `work_item_complete`)."""
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_COMMENT_LENGTH:
        message = f"a comment is 1 to {MAX_COMMENT_LENGTH} characters"
        detail = {"field": "text", "code": "invalid", "message": message}
        raise ApiError(message, code="invalid_input", details=[detail])
    now = timezone.now()
    with _locking_transaction(user, work_item_id):
        instance, item = _locked(user, work_item_id, seen)
        comment = WorkItemComment.objects.create(work_item=item, author=user, text=text, created_at=now)
        _record(instance, _event(item, "work_item.commented", comment_id=comment.pk), user, now)
        return comment


def work_item_reassign(*, user: Any, work_item_id: ItemId, assignee: str | Keep | None = KEEP,
                       candidate_groups: list[str] | None = None, seen: WorkItem | None = None) -> WorkItem:
    """Ops only: set (or with `None` clear) the assignee, and/or replace the candidate groups.

    `Forbidden` for other roles (after the gate: items they cannot see stay 404); `ApiError` 400
    `unknown_user` / `invalid_input`; `Conflict` `work_item_not_open` once finished.
    """
    groups = _checked_groups(candidate_groups)
    target = _user_named(assignee) if isinstance(assignee, str) else None
    now = timezone.now()
    with _locking_transaction(user, work_item_id):
        instance, item = _locked(user, work_item_id, seen)
        if not has_role(user, OPS):
            raise Forbidden("Only ops and admins may reassign work items.")
        _require_active(item)
        previous = item.assignee.get_username() if item.assignee else None
        previous_id = item.assignee_id
        fields = ["version"]
        if assignee is not KEEP:
            item.assignee = target
            item.status = WorkItemStatus.CLAIMED if target else WorkItemStatus.OPEN
            item.claimed_at = now if target else None
            fields += ["assignee", "status", "claimed_at"]
        if groups is not None:
            item.candidate_groups = groups
            fields.append("candidate_groups")
            replace_candidates([item])  # the assignee row too
        else:
            assignee_row_set(item, previous_id)
        item.version += 1
        item.save(update_fields=fields)
        reassigned = _event(item, "work_item.reassigned", previous_assignee=previous,
                            assignee=item.assignee.get_username() if item.assignee else None,
                            candidate_groups=list(item.candidate_groups))
        _record(instance, reassigned, user, now)
        return item


def _checked_groups(groups: list[str] | None) -> list[str] | None:
    if groups is None:
        return None
    if not all(isinstance(g, str) and g.strip() and len(g) <= MAX_NAME_LENGTH for g in groups):
        message = f"group names are 1 to {MAX_NAME_LENGTH} characters"
        raise ApiError(message, code="invalid_input",
                       details=[{"field": "candidate_groups", "code": "invalid", "message": message}])
    return list(dict.fromkeys(g.strip() for g in groups))


def _user_named(username: str) -> Any:
    found = get_user_model().objects.filter(username=username, is_active=True).first()
    if found is None:
        message = f"There is no active user {username!r}."
        raise ApiError(message, code="unknown_user",
                       details=[{"field": "assignee", "code": "unknown_user", "message": message}])
    return found
