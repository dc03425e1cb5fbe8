"""Read-only admin pages of the simulated systems' state, for looking around during a demo."""

from __future__ import annotations

from django.contrib import admin

from apps.sandbox import models


@admin.register(models.Customer, models.BillingAccount, models.Posting, models.Charge, models.Refund,
                models.ProvisioningOrder, models.Submission, models.Notification, models.SystemKnobs)
class SandboxAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The rows as the systems stored them; editing happens through the systems, not here."""

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
