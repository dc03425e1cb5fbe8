"""Bulk copies of a real waiting instance: its row, its audit trail, its work items and candidates.

B4 and B5 need thousands of waiting instances fast; starting each one would take minutes. A copy is
the template's row with a new id (snapshot, variables and activities as they are), so the database
holds realistic rows. A copied work item gets a new id (the primary key), so it cannot be completed
through the engine: copies are the background that the measured instances run against.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models, transaction

from apps.instances.models import InstanceEvent, ProcessInstance
from apps.worklist.models import WorkItem, WorkItemCandidate

BATCH = 2_000


def _fields(row: models.Model, *skip: str) -> dict[str, Any]:
    return {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields if f.attname not in skip}


def clone_instances(template: ProcessInstance, count: int, **overrides: Any) -> list[ProcessInstance]:
    """Insert `count` copies of `template` (in batches, fields in `overrides` replaced) and return them."""
    base = {**_fields(template, "id", "business_key"), **overrides}
    events = [_fields(e, "id", "instance_id") for e in InstanceEvent.objects.filter(instance=template)]
    items = list(WorkItem.objects.filter(instance=template))
    candidates = {item.pk: [_fields(c, "id", "work_item_id") for c in item.candidates.all()] for item in items}
    copies: list[ProcessInstance] = []
    for first in range(0, count, BATCH):
        batch = [ProcessInstance(**base, id=uuid.uuid4()) for _ in range(min(BATCH, count - first))]
        with transaction.atomic():
            ProcessInstance.objects.bulk_create(batch)
            InstanceEvent.objects.bulk_create(
                [InstanceEvent(**e, instance_id=copy.pk) for copy in batch for e in events], batch_size=BATCH
            )
            _clone_work_items(batch, items, candidates)
        copies.extend(batch)
    return copies


def _clone_work_items(batch: list[ProcessInstance], items: list[WorkItem],
                      candidates: dict[Any, list[dict[str, Any]]]) -> None:
    new_items: list[WorkItem] = []
    new_candidates: list[WorkItemCandidate] = []
    for copy in batch:
        for item in items:
            new = WorkItem(**{**_fields(item, "id", "instance_id"), "id": uuid.uuid4(), "instance_id": copy.pk})
            new_items.append(new)
            new_candidates += [WorkItemCandidate(**c, work_item_id=new.pk) for c in candidates[item.pk]]
    WorkItem.objects.bulk_create(new_items, batch_size=BATCH)
    WorkItemCandidate.objects.bulk_create(new_candidates, batch_size=BATCH)
