"""Inbox indexes in the list orders, and one `assignee` candidate row per assigned work item.

The access rule becomes a single `EXISTS` over the candidate rows (see `WorkItemCandidate`); the
rows for items assigned before this migration are written here.
"""

from typing import Any

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

BATCH = 2_000


def add_assignee_rows(apps: Any, schema_editor: Any) -> None:
    work_item = apps.get_model("worklist", "WorkItem")
    candidate = apps.get_model("worklist", "WorkItemCandidate")
    assigned = work_item.objects.filter(assignee__isnull=False).values_list("pk", "assignee_id").order_by("pk")
    rows = (candidate(work_item_id=pk, kind="assignee", name=str(user_id)) for pk, user_id in assigned.iterator())
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            candidate.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    candidate.objects.bulk_create(batch, ignore_conflicts=True)


def drop_assignee_rows(apps: Any, schema_editor: Any) -> None:
    apps.get_model("worklist", "WorkItemCandidate").objects.filter(kind="assignee").delete()


class Migration(migrations.Migration):

    dependencies = [
        ('worklist', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='workitem',
            name='work_item_status_priority',
        ),
        migrations.RemoveIndex(
            model_name='workitemcandidate',
            name='work_item_candidate_name',
        ),
        migrations.AlterField(
            model_name='workitemcandidate',
            name='kind',
            field=models.CharField(choices=[('group', 'Group'), ('user', 'User'), ('assignee', 'Assignee')], max_length=8),
        ),
        migrations.AlterField(
            model_name='workitemcandidate',
            name='work_item',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='candidates', to='worklist.workitem'),
        ),
        migrations.AddIndex(
            model_name='workitem',
            index=models.Index(models.F('status'), models.OrderBy(models.F('priority'), descending=True), models.OrderBy(models.F('due_at')), models.F('created_at'), models.F('id'), name='work_item_status_priority'),
        ),
        migrations.AddIndex(
            model_name='workitem',
            index=models.Index(models.OrderBy(models.F('priority'), descending=True), models.OrderBy(models.F('due_at')), models.F('created_at'), models.F('id'), condition=models.Q(('status__in', ('open', 'claimed'))), name='work_item_inbox_priority'),
        ),
        migrations.AddIndex(
            model_name='workitem',
            index=models.Index(models.OrderBy(models.F('due_at')), models.OrderBy(models.F('priority'), descending=True), models.F('created_at'), models.F('id'), condition=models.Q(('status__in', ('open', 'claimed'))), name='work_item_inbox_due'),
        ),
        migrations.AddIndex(
            model_name='workitemcandidate',
            index=models.Index(fields=['kind', 'name', 'work_item'], name='work_item_candidate_name'),
        ),
        # Last: rows written in this transaction would make PostgreSQL refuse later index changes.
        migrations.RunPython(add_assignee_rows, drop_assignee_rows, elidable=False),
    ]
