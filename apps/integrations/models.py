"""Outbox rows of service calls, and the protection state of each external system."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.instances.models import ProcessInstance


class CallStatus(models.TextChoices):
    """The state machine of an outbound call.

    pending -> running -> succeeded | failed | retrying (-> pending -> running ...); any open state
    -> cancelled when the instance finishes or the task is gone. `failed` is either a BPMN error
    (`error_code` set, thrown into the process) or a technical failure that spent its retries
    (`incident_id` set; an incident retry re-arms it to pending).
    """

    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    RETRYING = "retrying", "Retrying"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


OPEN_STATUSES = (CallStatus.PENDING, CallStatus.RUNNING, CallStatus.RETRYING)
BACKLOG_STATUSES = (CallStatus.PENDING, CallStatus.RETRYING)


class OutboundCall(models.Model):
    """One service call an instance parked on: the outbox row a worker runs and reports back on.

    Written by the step that parked the task (same transaction), so a call exists iff the step
    committed. `call_id` is the parked task's id; `idempotency_key` is derived from the instance and
    the call, stable across retries and redeliveries, and passed to the connector. `attempts` counts
    connector attempts since the call was (re-)armed. `applied_at` is set once a step has applied the
    outcome (result or BPMN error) to the instance: applying is idempotent through it.
    """

    # No index of its own: (instance, status) and the unique (instance, call_id) serve lookups by instance.
    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="outbound_calls",
                                 db_index=False)
    call_id = models.CharField(max_length=64)
    activity_id = models.CharField(max_length=255)
    operation = models.CharField(max_length=255)
    system = models.CharField(max_length=64)
    parameters = models.JSONField(default=dict, blank=True)
    result_variable = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=128, unique=True)
    status = models.CharField(max_length=16, choices=CallStatus.choices, default=CallStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When the call may run next (creation time, or after a back-off / breaker / limit delay).
    next_attempt_at = models.DateTimeField()
    # When a Celery message was last sent for it: the sweeper re-sends pending calls whose message
    # is older than the grace period (broker down, message lost) or older than `next_attempt_at`.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # A running call past this moment lost its worker: the sweeper counts it as a failed attempt.
    lease_until = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    error_code = models.CharField(max_length=255, blank=True)
    last_error = models.TextField(blank=True)
    # The incident opened when the retries were spent; it stays linked while a retry re-arms the call.
    incident_id = models.BigIntegerField(null=True, blank=True)
    # True once the spent retries were reported on `incident_id` (the sweeper reports it otherwise).
    escalated = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = (models.UniqueConstraint(fields=("instance", "call_id"), name="outbound_call_unique"),)
        indexes = (
            models.Index(fields=("status", "next_attempt_at"), name="outbound_call_due"),
            models.Index(fields=("system", "status"), name="outbound_call_system"),
            models.Index(fields=("instance", "status"), name="outbound_call_instance"),
            models.Index(
                fields=("finished_at",), name="outbound_call_unapplied",
                condition=Q(applied_at__isnull=True, finished_at__isnull=False),
            ),
        )

    def __str__(self) -> str:
        return f"{self.operation} {self.call_id} ({self.status})"


class BreakerState(models.TextChoices):
    """Circuit breaker: closed (calls go), open (fail fast), half-open (one probe goes)."""

    CLOSED = "closed", "Closed"
    HALF_OPEN = "half_open", "Half-open"
    OPEN = "open", "Open"


class ExternalSystem(models.Model):
    """Protection state of one external system (one row per connector's system, made on first use).

    Ops pause and resume it; the circuit breaker and the concurrency limit live here so every worker
    process shares them (PostgreSQL row lock, or SQLite's writer lock, serialises the changes).
    Limits are copied from the connector's declaration / settings at creation and can be changed in
    the admin.
    """

    name = models.CharField(max_length=64, primary_key=True)
    paused = models.BooleanField(default=False)
    paused_at = models.DateTimeField(null=True, blank=True)
    breaker_state = models.CharField(max_length=16, choices=BreakerState.choices, default=BreakerState.CLOSED)
    consecutive_failures = models.PositiveIntegerField(default=0)
    window_started_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    # The call probing a half-open breaker, and until when it may (then another may probe).
    probe_call_id = models.BigIntegerField(null=True, blank=True)
    probe_until = models.DateTimeField(null=True, blank=True)
    max_concurrency = models.PositiveIntegerField()
    failure_threshold = models.PositiveIntegerField()
    failure_window_seconds = models.FloatField()
    cooldown_seconds = models.FloatField()

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return f"{self.name} ({'paused, ' if self.paused else ''}{self.breaker_state})"
