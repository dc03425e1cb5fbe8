"""Read-mostly admin for work items (changes go through the services, not the admin)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin

from apps.worklist.models import WorkItem, WorkItemComment

# ModelAdmin is generic only in django-stubs; at run time it cannot be subscripted.
if TYPE_CHECKING:
    _ItemAdmin = admin.ModelAdmin[WorkItem]
    _CommentAdmin = admin.ModelAdmin[WorkItemComment]
else:
    _ItemAdmin = _CommentAdmin = admin.ModelAdmin


@admin.register(WorkItem)
class WorkItemAdmin(_ItemAdmin):
    """Find work items by process, status and activity."""

    list_display = ("activity_id", "process_key", "status", "assignee", "priority", "due_at", "created_at")
    list_filter = ("status", "process_key")
    search_fields = ("id", "activity_id", "name")
    readonly_fields = tuple(f.name for f in WorkItem._meta.fields)


@admin.register(WorkItemComment)
class WorkItemCommentAdmin(_CommentAdmin):
    """Comments, read-only."""

    list_display = ("work_item", "author", "created_at")
    readonly_fields = ("work_item", "author", "text", "created_at")
