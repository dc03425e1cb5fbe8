"""Admin pages of the SLA app: calendars and overrides editable, clocks and breaches read-only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin

from apps.sla.models import BusinessCalendar, Deadline, EscalationDelivery, SlaBreach, SlaPolicy

# ModelAdmin is generic only in django-stubs; at run time it cannot be subscripted.
if TYPE_CHECKING:
    _Admin = admin.ModelAdmin[Any]
else:
    _Admin = admin.ModelAdmin


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(_Admin):
    """Working days, hours, time zone and holidays per calendar."""

    list_display = ("name", "country", "subdivision", "timezone", "work_start", "work_end")


@admin.register(SlaPolicy)
class SlaPolicyAdmin(_Admin):
    """Ops overrides (the API validates more strictly; prefer it)."""

    list_display = ("process_key", "activity_id", "enabled", "target", "at_risk", "calendar")
    list_filter = ("process_key",)


@admin.register(Deadline)
class DeadlineAdmin(_Admin):
    """SLA clocks, for looking only."""

    list_display = ("instance", "process_key", "activity_id", "due_at", "breached_at", "stopped_at", "outcome")
    list_filter = ("process_key", "outcome")
    raw_id_fields = ("instance", "work_item", "policy_override")

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(SlaBreach)
class SlaBreachAdmin(_Admin):
    """Recorded at-risk and breach events."""

    list_display = ("kind", "process_key", "activity_id", "instance", "due_at", "recorded_at")
    list_filter = ("kind", "process_key")
    raw_id_fields = ("deadline", "instance")


@admin.register(EscalationDelivery)
class EscalationDeliveryAdmin(_Admin):
    """What each escalation action did."""

    list_display = ("breach", "position", "action", "status", "attempts", "done_at")
    list_filter = ("action", "status")
    raw_id_fields = ("breach",)
