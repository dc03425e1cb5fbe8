"""Serializers of the integrations API: external systems and outbound calls."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.integrations.models import BreakerState, CallStatus, OutboundCall


class SystemSerializer(serializers.Serializer[Any]):
    """An external system: pause and breaker state, limits, and its calls by state."""

    name = serializers.CharField(read_only=True)
    queue = serializers.CharField(read_only=True, help_text="The Celery queue its calls run on.")
    operations = serializers.ListField(child=serializers.CharField(), read_only=True)
    paused = serializers.BooleanField(read_only=True)
    breaker_state = serializers.ChoiceField(choices=BreakerState.choices, read_only=True)
    consecutive_failures = serializers.IntegerField(read_only=True)
    opened_at = serializers.DateTimeField(read_only=True, allow_null=True)
    pending = serializers.IntegerField(read_only=True)
    retrying = serializers.IntegerField(read_only=True)
    running = serializers.IntegerField(read_only=True)
    limits = serializers.SerializerMethodField()

    def get_limits(self, view: Any) -> dict[str, float]:
        """Concurrency limit and breaker thresholds of the system."""
        return {
            "max_concurrency": view.max_concurrency,
            "failure_threshold": view.failure_threshold,
            "failure_window_seconds": view.failure_window_seconds,
            "cooldown_seconds": view.cooldown_seconds,
        }


class ServiceCallFilterSerializer(serializers.Serializer[dict[str, Any]]):
    """Query parameters of `GET /service-calls/`."""

    instance_id = serializers.UUIDField(required=False)
    status = serializers.ChoiceField(choices=CallStatus.choices, required=False)
    operation = serializers.CharField(required=False, max_length=255)


class ServiceCallSerializer(serializers.ModelSerializer[OutboundCall]):
    """An outbound call (outbox row) as ops see it."""

    status = serializers.ChoiceField(choices=CallStatus.choices, read_only=True)

    class Meta:
        model = OutboundCall
        fields: tuple[str, ...] = (
            "id",
            "instance_id",
            "call_id",
            "activity_id",
            "operation",
            "system",
            "status",
            "attempts",
            "last_error",
            "error_code",
            "idempotency_key",
            "next_attempt_at",
            "started_at",
            "finished_at",
            "applied_at",
            "incident_id",
            "created_at",
        )
        read_only_fields = fields


class ServiceCallDetailSerializer(ServiceCallSerializer):
    """An outbound call with its parameters and result."""

    class Meta(ServiceCallSerializer.Meta):
        fields = (*ServiceCallSerializer.Meta.fields, "parameters", "result")
        read_only_fields = fields
