"""The work-item response is what DRF's own `Serializer.to_representation` makes of the item.

`WorkItemSerializer` answers through fields built once per process (`FieldsBuiltOnce`); these tests
hold it to the stock path (fields built for each serializer) for items in every state.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from apps.worklist.models import WorkItem
from apps.worklist.serializers import WorkItemSerializer
from apps.worklist.services import work_item_claim, work_item_complete
from tests.apps.worklist import samples


def _stock(item: WorkItem) -> dict[str, Any]:
    return serializers.Serializer.to_representation(WorkItemSerializer(), item)


def _fresh(item: WorkItem) -> WorkItem:
    return WorkItem.objects.select_related("assignee", "completed_by").get(pk=item.pk)


def test_a_work_item_answers_as_drf_builds_it_open_claimed_and_completed(deploy, people, start) -> None:
    deploy(samples.PLAIN)
    _, item = start("plain")
    WorkItem.objects.filter(pk=item.pk).update(due_at=timezone.now() + timedelta(hours=2), priority=70)
    _, other = start("plain")
    seen = []

    for change in (lambda: None,
                   lambda: work_item_claim(user=people["seller"], work_item_id=item.pk),
                   lambda: work_item_complete(user=people["seller"], work_item_id=item.pk, variables={})):
        change()
        body = WorkItemSerializer(_fresh(item)).data
        assert body == _stock(_fresh(item))
        seen.append((body["status"], body["assignee"], body["completed_by"]))
        # Shared fields keep nothing of the item they last answered.
        assert WorkItemSerializer(_fresh(other)).data == _stock(_fresh(other))

    assert seen == [("open", None, None), ("claimed", "seller", None), ("completed", "seller", "seller")]


def test_a_list_of_work_items_answers_as_drf_builds_it(deploy, people, start) -> None:
    deploy(samples.PLAIN)
    items = [start("plain")[1] for _ in range(3)]
    work_item_claim(user=people["seller"], work_item_id=items[1].pk)
    rows = list(WorkItem.objects.select_related("assignee", "completed_by").order_by("created_at"))

    assert WorkItemSerializer(rows, many=True).data == [_stock(row) for row in rows]
