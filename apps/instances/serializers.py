"""Request and response shapes of the runtime API (names fixed by API.md)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.core.serializers import FieldsBuiltOnce
from apps.instances.models import Incident, IncidentStatus, InstanceEvent, InstanceStatus, ProcessInstance


class InstanceStartSerializer(serializers.Serializer[dict[str, Any]]):
    """`POST /instances/`: which process to start, and with what."""

    process_key = serializers.CharField(max_length=255, help_text="The executable process id of the model.")
    version = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, help_text="A deployed version; the latest when omitted."
    )
    business_key = serializers.CharField(
        max_length=255,
        required=False,
        allow_null=True,
        allow_blank=False,
        help_text="Your id for this run; a second start with it while this one is unfinished is a 409.",
    )
    variables = serializers.DictField(required=False, help_text="Initial process variables (JSON object).")


class InstanceFilterSerializer(serializers.Serializer[dict[str, Any]]):
    """Query parameters of `GET /instances/`."""

    process_key = serializers.CharField(required=False)
    status = serializers.ChoiceField(choices=InstanceStatus.choices, required=False)
    business_key = serializers.CharField(required=False)


class IncidentFilterSerializer(serializers.Serializer[dict[str, Any]]):
    """Query parameters of `GET /incidents/`."""

    status = serializers.ChoiceField(choices=IncidentStatus.choices, required=False)


class IncidentRetrySerializer(serializers.Serializer[dict[str, Any]]):
    """`POST /incidents/{id}/retry/`: optionally corrected variables for the failed step."""

    variables = serializers.DictField(
        required=False,
        help_text="Merged into the variables of the failed command (start, complete a work "
        "item, deliver a message) before it runs again.",
    )


class IncidentSerializer(FieldsBuiltOnce, serializers.ModelSerializer[Incident]):
    """An incident: what failed where, how often it was tried, and whether it is still open."""

    instance_id = serializers.UUIDField(read_only=True)
    status = serializers.ChoiceField(choices=IncidentStatus.choices, read_only=True)
    retryable = serializers.BooleanField(read_only=True, help_text="Open and holding a step to run again.")

    class Meta:
        model = Incident
        fields = (
            "id",
            "instance_id",
            "activity_id",
            "kind",
            "message",
            "attempts",
            "status",
            "opened_at",
            "resolved_at",
            "retryable",
        )
        read_only_fields = fields


class InstanceSerializer(FieldsBuiltOnce, serializers.ModelSerializer[ProcessInstance]):
    """An instance as lists show it."""

    version = serializers.IntegerField(source="definition.version", read_only=True)
    definition_id = serializers.IntegerField(read_only=True)
    started_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username", read_only=True)
    active_activities = serializers.ListField(child=serializers.CharField(), read_only=True)
    completed_activities = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="Activity ids in completion order."
    )
    variables = serializers.DictField(read_only=True)

    class Meta:
        model = ProcessInstance
        fields: tuple[str, ...] = (
            "id",
            "process_key",
            "version",
            "definition_id",
            "business_key",
            "status",
            "variables",
            "active_activities",
            "completed_activities",
            "next_timer_at",
            "started_at",
            "ended_at",
            "started_by",
        )
        read_only_fields = fields


class InstanceDetailSerializer(InstanceSerializer):
    """One instance with its incidents (open and resolved, newest first)."""

    incidents = IncidentSerializer(many=True, read_only=True)

    class Meta(InstanceSerializer.Meta):
        fields = (*InstanceSerializer.Meta.fields, "incidents")
        read_only_fields = fields


class InstanceEventSerializer(FieldsBuiltOnce, serializers.ModelSerializer[InstanceEvent]):
    """One audit event: numbered per instance, dotted past-tense type."""

    class Meta:
        model = InstanceEvent
        fields = ("seq", "type", "activity_id", "actor", "at", "data")
        read_only_fields = fields
