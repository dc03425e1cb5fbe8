"""State of the simulated systems, so that they answer consistently across calls and processes.

Identifiers the systems hand out are short prefixed strings (`crm_...`, `acct_...`), as a real
system's would be; the remote keys the callers send (customer id, order id, idempotency key) are
unique so that repeated calls find the same row instead of creating another.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


def new_id(prefix: str) -> str:
    """A fresh identifier such as `acct_3f9c0a1b2c4d`."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


class Settling(models.Model):
    """A row whose status changes by itself later: `status` until `settles_at`, then `final_status`.

    The asynchronous answer (a callback message) is decided when the request arrives and stored here,
    so the background thread that posts it later never writes to the database, and a GET in between
    shows the same story the callback will tell.
    """

    status = models.CharField(max_length=16)
    final_status = models.CharField(max_length=16, blank=True, default="")
    settles_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def status_now(self) -> str:
        """The status a caller sees now."""
        if self.final_status and self.settles_at is not None and timezone.now() >= self.settles_at:
            return self.final_status
        return self.status


class SystemKnobs(models.Model):
    """Run-time settings of one simulated system (latency, failure rate, ...) changed by its config endpoint.

    Kept in the database, not in memory, so every web process and the standalone server agree.
    """

    system = models.CharField(max_length=32, unique=True)
    values = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.system


class Customer(models.Model):
    """A CRM customer, keyed by the caller's customer id."""

    customer_id = models.CharField(max_length=64, unique=True)
    crm_id = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    email = models.CharField(max_length=200)
    segment = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.customer_id


class BillingAccount(models.Model):
    """A billing account; one per (customer, order), so a repeated create returns the same account."""

    account_id = models.CharField(max_length=32, unique=True)
    customer_id = models.CharField(max_length=64)
    order_id = models.CharField(max_length=64)
    plan = models.CharField(max_length=64)
    status = models.CharField(max_length=16, default="active")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer_id", "order_id"], name="sandbox_account_per_order")]

    def __str__(self) -> str:
        return self.account_id


class Posting(models.Model):
    """A payment posted to a billing account; one per payment id."""

    posting_id = models.CharField(max_length=32, unique=True)
    account = models.ForeignKey(BillingAccount, on_delete=models.CASCADE, related_name="postings")
    payment_id = models.CharField(max_length=64, unique=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.posting_id


class Charge(Settling):
    """A card charge of the payment gateway; the Idempotency-Key makes a repeated request return it."""

    charge_id = models.CharField(max_length=32, unique=True)
    idempotency_key = models.CharField(max_length=255, unique=True)
    payment_id = models.CharField(max_length=64)
    customer_id = models.CharField(max_length=64)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    card_last4 = models.CharField(max_length=4)  # never the whole card number
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.charge_id


class Refund(models.Model):
    """A refund of (part of) a charge."""

    refund_id = models.CharField(max_length=32, unique=True)
    idempotency_key = models.CharField(max_length=255, unique=True, null=True, blank=True)
    charge = models.ForeignKey(Charge, on_delete=models.CASCADE, related_name="refunds")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    status = models.CharField(max_length=16, default="succeeded")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.refund_id


class ProvisioningOrder(Settling):
    """A network provisioning request; one per order id."""

    provisioning_id = models.CharField(max_length=32, unique=True)
    order_id = models.CharField(max_length=64, unique=True)
    service = models.CharField(max_length=64)
    address = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.provisioning_id


class Submission(Settling):
    """A report submitted to the regulator; one per report id."""

    submission_id = models.CharField(max_length=32, unique=True)
    report_id = models.CharField(max_length=64, unique=True)
    period = models.CharField(max_length=32)
    files = models.JSONField(default=list)
    reason = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.submission_id


class Notification(models.Model):
    """An e-mail or SMS the notification service "sent" (recorded, never delivered)."""

    notification_id = models.CharField(max_length=32, unique=True)
    idempotency_key = models.CharField(max_length=255, unique=True, null=True, blank=True)
    channel = models.CharField(max_length=8)
    to = models.CharField(max_length=200)
    template = models.CharField(max_length=100)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.notification_id
