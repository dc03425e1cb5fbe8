"""The effect handler that keeps work items in step with the engine.

`project_work_items(instance, result)` runs inside every successful step's transaction, under the
instance lock (registered in `WorklistConfig.ready`). It marks the items the step closed - completed
when the step completed them (the engine's `work_item.completed` event names them), cancelled
otherwise (a boundary event fired, the instance was cancelled) - and creates an item for every user
or manual task the step opened, resolving its assignment, due date, priority and form from the model
(`bpmn.human_tasks`) against the step's variables. A model whose forms or assignment expressions
are broken fails the step (it rolls back; an incident says why).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import F
from django.utils import timezone

import bpmn
from apps.core.rows import insert_rows
from apps.instances.models import ProcessInstance
from apps.instances.runtime import model_source_for
from apps.worklist.models import ACTIVE_STATUSES, CandidateKind, WorkItem, WorkItemCandidate, WorkItemStatus
from bpmn.human_tasks import HumanTaskSpec, ResolvedAssignment, human_task_specs, resolve


def project_work_items(instance: ProcessInstance, result: bpmn.StepResult) -> None:
    """Close the items the step closed, then open the ones it opened (a loop may do both)."""
    now = timezone.now()
    if result.work_items_closed:
        _close(instance, result, now)
    if result.work_items_opened:
        _open(instance, result, now)


def _close(instance: ProcessInstance, result: bpmn.StepResult, now: datetime) -> None:
    completed = {
        str(event.data.get("work_item_id")) for event in result.audit if event.type == "work_item.completed"
    }
    closed = set(result.work_items_closed)
    active = WorkItem.objects.filter(instance=instance, status__in=ACTIVE_STATUSES)
    # `work_item_complete` claims an open item for its completer before the step, so the assignee
    # is who completed it (also when an incident retry completes it later). An empty set is skipped
    # here: the ORM would build the whole UPDATE before finding it has nothing to do.
    if closed & completed:
        active.filter(pk__in=closed & completed).update(
            status=WorkItemStatus.COMPLETED, completed_at=now, completed_by=F("assignee"), version=F("version") + 1
        )
    if closed - completed:
        active.filter(pk__in=closed - completed).update(
            status=WorkItemStatus.CANCELLED, completed_at=now, version=F("version") + 1
        )


def _open(instance: ProcessInstance, result: bpmn.StepResult, now: datetime) -> None:
    specs = human_task_specs(model_source_for(instance.definition))
    pending: list[tuple[WorkItem, str | None]] = []
    for request in result.work_items_opened:
        spec = specs.get(request.activity_id) or HumanTaskSpec(request.activity_id, request.name, lane=request.lane)
        assignment = resolve(spec, result.variables, now=now)
        pending.append((_item(instance, request, spec, assignment, now), assignment.assignee))
    _assign_users(pending)
    items = [item for item, _ in pending]
    # A task id the engine hands out again (rare: a reset task) replaces the old row; deleting it
    # deletes its candidate rows too, so the new rows need no DELETE of their own. The first step
    # of an instance runs before its row is inserted: it can have no rows to replace.
    if not instance._state.adding:
        WorkItem.objects.filter(pk__in=[item.pk for item in items]).delete()
    # Hand-built INSERTs (`apps.core.rows`): the ORM's bulk_create compiled longer than they ran.
    insert_rows(WorkItem, items)
    insert_rows(WorkItemCandidate, _candidate_rows(items))


def _item(instance: ProcessInstance, request: bpmn.WorkItemRequest, spec: HumanTaskSpec,
          assignment: ResolvedAssignment, now: datetime) -> WorkItem:
    return WorkItem(
        id=request.id,
        instance=instance,
        process_key=instance.process_key,
        activity_id=request.activity_id,
        name=(request.name or spec.name)[:255],
        kind=request.kind,
        documentation=request.documentation or "",
        candidate_groups=assignment.candidate_groups,
        candidate_users=assignment.candidate_users,
        due_at=assignment.due_at,
        priority=assignment.priority,
        form=spec.form.as_dict() if spec.form else {},
        created_at=now,
    )


def _assign_users(pending: list[tuple[WorkItem, str | None]]) -> None:
    """Set the assignees the model names (one query). An unknown username becomes a candidate user
    instead, so the item reaches that person once their account exists."""
    wanted = {name for _, name in pending if name}
    if not wanted:
        return
    users = {u.get_username(): u for u in get_user_model().objects.filter(username__in=wanted)}
    for item, name in pending:
        user = users.get(name) if name else None
        if user is not None:
            item.assignee = user
            item.status = WorkItemStatus.CLAIMED
            item.claimed_at = item.created_at
        elif name and name not in item.candidate_users:
            item.candidate_users = [*item.candidate_users, name]


def _candidate_rows(items: Iterable[WorkItem]) -> list[WorkItemCandidate]:
    return [
        WorkItemCandidate(work_item=item, kind=kind, name=name)
        for item in items
        for kind, names in (
            (CandidateKind.GROUP, item.candidate_groups),
            (CandidateKind.USER, item.candidate_users),
            (CandidateKind.ASSIGNEE, [str(item.assignee_id)] if item.assignee_id is not None else []),
        )
        for name in dict.fromkeys(names)
    ]


def replace_candidates(items: Iterable[WorkItem]) -> None:
    """Make the `WorkItemCandidate` rows of `items` match their candidate lists and assignees."""
    items = list(items)
    WorkItemCandidate.objects.filter(work_item__in=items).delete()
    WorkItemCandidate.objects.bulk_create(_candidate_rows(items))


def assignee_row_set(item: WorkItem, previous_assignee_id: int | None) -> None:
    """Keep the item's `assignee` row in step after its assignee changed from `previous_assignee_id`."""
    if previous_assignee_id == item.assignee_id:
        return
    if previous_assignee_id is not None:
        WorkItemCandidate.objects.filter(work_item=item, kind=CandidateKind.ASSIGNEE).delete()
    if item.assignee_id is not None:
        WorkItemCandidate.objects.create(work_item=item, kind=CandidateKind.ASSIGNEE, name=str(item.assignee_id))


__all__ = ["assignee_row_set", "project_work_items", "replace_candidates"]
