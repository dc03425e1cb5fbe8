"""Admin of the integrations: change a system's limits; look at outbound calls."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin

from apps.integrations.models import ExternalSystem, OutboundCall

# ModelAdmin is generic only in django-stubs; at run time it cannot be subscripted.
if TYPE_CHECKING:
    _SystemAdmin = admin.ModelAdmin[ExternalSystem]
    _CallAdmin = admin.ModelAdmin[OutboundCall]
else:
    _SystemAdmin = _CallAdmin = admin.ModelAdmin


@admin.register(ExternalSystem)
class ExternalSystemAdmin(_SystemAdmin):
    """Limits are editable; pause/resume through the API keeps the waiting calls moving."""

    list_display = ("name", "paused", "breaker_state", "max_concurrency", "failure_threshold", "cooldown_seconds")


@admin.register(OutboundCall)
class OutboundCallAdmin(_CallAdmin):
    """Read-mostly view of the outbox."""

    list_display = ("id", "operation", "status", "attempts", "instance", "next_attempt_at", "created_at")
    list_filter = ("status", "system")
    search_fields = ("idempotency_key", "call_id")
    raw_id_fields = ("instance",)
