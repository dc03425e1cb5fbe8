"""Request and response shapes of the worklist API (names fixed by API.md "Work items")."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.core.serializers import FieldsBuiltOnce
from apps.worklist.models import WorkItem, WorkItemComment, WorkItemStatus
from apps.worklist.selectors import ANY_STATUS, ORDERINGS


class WorkItemSerializer(FieldsBuiltOnce, serializers.ModelSerializer[WorkItem]):
    """A work item as lists and details show it; `form` is `{"kind", "schema", "ui_schema", "read_only"}`."""

    instance_id = serializers.UUIDField(read_only=True)
    status = serializers.ChoiceField(choices=WorkItemStatus.choices, read_only=True)
    assignee = serializers.CharField(source="assignee.username", read_only=True, allow_null=True)
    completed_by = serializers.CharField(source="completed_by.username", read_only=True, allow_null=True)
    candidate_groups = serializers.ListField(child=serializers.CharField(), read_only=True)
    candidate_users = serializers.ListField(child=serializers.CharField(), read_only=True)
    form = serializers.DictField(read_only=True)

    class Meta:
        model = WorkItem
        fields = (
            "id", "instance_id", "process_key", "activity_id", "name", "kind", "documentation", "status",
            "assignee", "candidate_groups", "candidate_users", "due_at", "priority", "form", "created_at",
            "claimed_at", "completed_at", "completed_by", "version",
        )
        read_only_fields = fields


class WorkItemFilterSerializer(serializers.Serializer[dict[str, Any]]):
    """Query parameters of `GET /work-items/`."""

    status = serializers.ChoiceField(
        choices=[*WorkItemStatus.values, ANY_STATUS], required=False,
        help_text="One status, or `any`; default: the active ones (open and claimed).",
    )
    mine = serializers.BooleanField(required=False, default=False, help_text="Only items assigned to me.")
    candidate_group = serializers.CharField(required=False, help_text="Only items this group is a candidate for.")
    process_key = serializers.CharField(required=False)
    overdue = serializers.BooleanField(required=False, default=False, help_text="Active items past their due date.")
    q = serializers.CharField(required=False, max_length=200, help_text="The name contains this text.")
    ordering = serializers.ChoiceField(choices=list(ORDERINGS), required=False,
                                       help_text="Default `-priority` (then earliest due, then oldest).")


class WorkItemCountsSerializer(serializers.Serializer[dict[str, int]]):
    """Inbox badges: assigned to me, my groups' unclaimed queue, overdue items I see."""

    mine = serializers.IntegerField()
    group_queue = serializers.IntegerField()
    overdue = serializers.IntegerField()


class WorkItemCompleteSerializer(serializers.Serializer[dict[str, Any]]):
    """`POST /work-items/{id}/complete/`: the variables the form submits."""

    variables = serializers.DictField(required=False, default=dict, help_text="Checked against the form.")


class WorkItemReassignSerializer(serializers.Serializer[dict[str, Any]]):
    """`POST /work-items/{id}/reassign/` (ops): a new assignee (`null` clears it) and/or candidate groups."""

    assignee = serializers.CharField(required=False, allow_null=True, max_length=150)
    candidate_groups = serializers.ListField(child=serializers.CharField(max_length=150), required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "assignee" not in attrs and "candidate_groups" not in attrs:
            raise serializers.ValidationError("give `assignee` and/or `candidate_groups`")
        return attrs


class WorkItemFormSerializer(serializers.Serializer[dict[str, Any]]):
    """`GET /work-items/{id}/form/`: what a renderer needs, with the current values."""

    kind = serializers.CharField(help_text="`json_schema`, `camunda` (converted formData) or `none`.")
    schema = serializers.DictField(help_text="JSON Schema (draft 2020-12).")
    ui_schema = serializers.DictField(help_text="UI schema (react-jsonschema-form conventions).")
    values = serializers.DictField(help_text="Current values: instance variables, else field defaults.")
    # Not `read_only`: that name is a flag of every DRF field and serializer.
    read_only_fields = serializers.ListField(
        child=serializers.CharField(), help_text="Fields shown but not editable (submit them unchanged or not at all)."
    )


class WorkItemCommentSerializer(serializers.ModelSerializer[WorkItemComment]):
    """A comment; `text` comes back exactly as it was posted (HTML is not rendered nor escaped here)."""

    author = serializers.CharField(source="author.username", read_only=True, allow_null=True)
    text = serializers.CharField(max_length=10_000, trim_whitespace=False)

    class Meta:
        model = WorkItemComment
        fields = ("id", "author", "text", "created_at")
        read_only_fields = ("id", "author", "created_at")
