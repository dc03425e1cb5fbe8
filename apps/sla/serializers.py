"""Serializers of the SLA API: shapes only; the services validate durations, calendars and zones."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.sla.models import BusinessCalendar, SlaBreach, SlaPolicy
from apps.sla.policies import iso_duration


class BreachSerializer(serializers.ModelSerializer[SlaBreach]):
    """API.md: `{"instance_id", "activity_id"?, "policy", "due_at", "breached_at"}` plus `id`, `kind`, `process_key`."""

    activity_id = serializers.SerializerMethodField()
    breached_at = serializers.DateTimeField(source="recorded_at", help_text="When the sweep recorded the event.")
    due_at = serializers.DateTimeField(help_text="The threshold that passed (due time, or at-risk time).")

    class Meta:
        model = SlaBreach
        fields = ("id", "instance_id", "activity_id", "policy", "due_at", "breached_at", "kind", "process_key")

    def get_activity_id(self, obj: SlaBreach) -> str | None:
        """The activity, or null for a process-level SLA."""
        return obj.activity_id or None


class BreachFilterSerializer(serializers.Serializer[dict[str, Any]]):
    """Query parameters of `GET /sla/breaches/`."""

    process_key = serializers.CharField(required=False)
    since = serializers.DateTimeField(required=False, help_text="Only events recorded at or after this time.")
    kind = serializers.ChoiceField(choices=("breached", "at_risk", "all"), required=False, default="breached")
    activity_id = serializers.CharField(required=False)
    instance_id = serializers.UUIDField(required=False)


class PolicyInputSerializer(serializers.Serializer[dict[str, Any]]):
    """An override's fields; each omitted one inherits the model's declaration."""

    activity_id = serializers.CharField(required=False, allow_blank=True, default="",
                                        help_text="Blank for the process as a whole.")
    enabled = serializers.BooleanField(required=False, default=True)
    target = serializers.CharField(required=False, allow_blank=True, allow_null=True,
                                   help_text="ISO 8601 duration, e.g. PT4H or P2D.")
    at_risk = serializers.CharField(required=False, allow_blank=True, allow_null=True,
                                    help_text="A shorter duration, or a percentage of the target (80%).")
    calendar = serializers.CharField(required=False, allow_blank=True, help_text="wall, business or a calendar name.")
    timezone = serializers.CharField(required=False, allow_blank=True, help_text="IANA name, e.g. Europe/Vienna.")
    pause_on_suspend = serializers.BooleanField(required=False, allow_null=True, default=None)
    escalations = serializers.ListField(child=serializers.DictField(), required=False, default=list)


class PolicyCreateSerializer(PolicyInputSerializer):
    """`POST /sla/policies/`: an override of one element of a process key."""

    process_key = serializers.CharField()


class PolicyReplaceSerializer(serializers.Serializer[dict[str, Any]]):
    """`PUT /sla/policies/?process_key=`: the complete list of the key's overrides."""

    policies = PolicyInputSerializer(many=True)


class PolicyOverrideSerializer(serializers.ModelSerializer[SlaPolicy]):
    """An ops override as stored (durations in ISO 8601)."""

    target = serializers.SerializerMethodField()
    at_risk = serializers.SerializerMethodField()

    class Meta:
        model = SlaPolicy
        fields = ("id", "process_key", "activity_id", "enabled", "target", "at_risk", "calendar", "timezone",
                  "pause_on_suspend", "escalations", "updated_at")

    def get_target(self, obj: SlaPolicy) -> str | None:
        """ISO 8601, or null to inherit the model's."""
        return iso_duration(obj.target) if obj.target else None

    def get_at_risk(self, obj: SlaPolicy) -> str | None:
        """ISO 8601, or null (inherit, or 80% of the target)."""
        return iso_duration(obj.at_risk) if obj.at_risk else None


class EffectivePolicySerializer(serializers.Serializer[dict[str, Any]]):
    """An SLA as clocks start with it now (model declaration merged with the override)."""

    process_key = serializers.CharField()
    activity_id = serializers.CharField(allow_null=True)
    policy = serializers.CharField()
    target = serializers.CharField()
    target_seconds = serializers.FloatField()
    at_risk = serializers.CharField()
    at_risk_seconds = serializers.FloatField()
    calendar = serializers.CharField()
    timezone = serializers.CharField(allow_null=True)
    pause_on_suspend = serializers.BooleanField()
    escalations = serializers.ListField(child=serializers.DictField())
    source = serializers.ChoiceField(choices=("model", "override", "model+override"))  # type: ignore[assignment]
    override_id = serializers.IntegerField(allow_null=True)


class ProcessPoliciesSerializer(serializers.Serializer[dict[str, Any]]):
    """`GET /sla/policies/?process_key=`: the effective SLAs and the overrides behind them."""

    process_key = serializers.CharField()
    policies = EffectivePolicySerializer(many=True)
    overrides = PolicyOverrideSerializer(many=True)


class CalendarSerializer(serializers.ModelSerializer[BusinessCalendar]):
    """A business calendar; `working_days` 0 (Monday) to 6, `extra_holidays` as YYYY-MM-DD."""

    working_days = serializers.ListField(child=serializers.IntegerField(), required=False)
    extra_holidays = serializers.ListField(child=serializers.CharField(), required=False)

    class Meta:
        model = BusinessCalendar
        fields = ("id", "name", "country", "subdivision", "working_days", "work_start", "work_end", "timezone",
                  "extra_holidays", "updated_at")
        read_only_fields = ("id", "updated_at")
