"""Runtime state: process instances, their append-only audit trail and their incidents."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.definitions.models import ProcessDefinition


class InstanceStatus(models.TextChoices):
    """Where an instance stands; `waiting` = nothing to do until a person, message, timer or call acts."""

    RUNNING = "running", "Running"
    WAITING = "waiting", "Waiting"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    SUSPENDED = "suspended", "Suspended"


FINISHED_STATUSES = frozenset({InstanceStatus.COMPLETED, InstanceStatus.FAILED, InstanceStatus.CANCELLED})


class ProcessInstance(models.Model):
    """One run of a deployed definition.

    Every change goes through the step pipeline (`apps.instances.pipeline.instance_step`), which holds
    this row's lock for the whole step. `snapshot` is the engine's instance state as *text*: PostgreSQL
    `jsonb` reorders object keys and SpiffWorkflow's serializer depends on the task order, so a
    `JSONField` would not restore correctly. `variables`, `active_activities` and
    `completed_activities` are copies of the latest step's result kept for reading and filtering.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    definition = models.ForeignKey(ProcessDefinition, on_delete=models.PROTECT, related_name="instances")
    # Denormalised from the definition so lists filter without a join.
    process_key = models.CharField(max_length=255, db_index=True)
    # NULL (not "") means "no business key": the partial unique constraint below skips NULLs only.
    business_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    status = models.CharField(max_length=16, choices=InstanceStatus.choices, default=InstanceStatus.RUNNING)
    suspended_from = models.CharField(max_length=16, choices=InstanceStatus.choices, blank=True)
    snapshot = models.TextField(blank=True)
    snapshot_version = models.PositiveIntegerField(default=0)
    variables = models.JSONField(default=dict, blank=True)
    active_activities = models.JSONField(default=list, blank=True)
    completed_activities = models.JSONField(default=list, blank=True)
    next_timer_at = models.DateTimeField(null=True, blank=True, db_index=True)
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The seq of the last audit event: the pipeline hands out the next ones under the row lock.
    event_seq = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("-started_at",)
        indexes = (models.Index(fields=("status", "-started_at"), name="instance_status_started"),)
        constraints = (
            # Idempotent starts: one unfinished instance per process key and business key.
            models.UniqueConstraint(
                fields=("process_key", "business_key"),
                condition=Q(ended_at__isnull=True) & Q(business_key__isnull=False),
                name="instance_unfinished_business_key_unique",
            ),
        )

    def __str__(self) -> str:
        return f"{self.process_key} {self.id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        """True once completed, failed or cancelled: no command applies any more."""
        return self.status in FINISHED_STATUSES


class InstanceEvent(models.Model):
    """One entry of an instance's append-only audit trail, numbered 1, 2, 3 ... per instance.

    `type` is dotted past tense (`instance.started`, `activity.completed`, `incident.opened`);
    `actor` is the username that caused it, or `system` for sweeps and workers.
    """

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    type = models.CharField(max_length=64)
    activity_id = models.CharField(max_length=255, blank=True)
    actor = models.CharField(max_length=150, blank=True)
    at = models.DateTimeField()
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("instance", "seq")
        constraints = (models.UniqueConstraint(fields=("instance", "seq"), name="instance_event_seq_unique"),)

    def __str__(self) -> str:
        return f"{self.instance_id} #{self.seq} {self.type}"


class IncidentStatus(models.TextChoices):
    """An incident is open until a retry succeeds (or the instance is cancelled)."""

    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class Incident(models.Model):
    """Something an instance cannot get past on its own; ops look at it and may retry.

    `command` is the step command (JSON) that failed, re-run by a retry; it is null for incidents the
    engine reported while the step itself succeeded (e.g. an uncaught BPMN error), which no retry fixes.
    """

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="incidents")
    activity_id = models.CharField(max_length=255, blank=True)
    kind = models.CharField(max_length=64)
    message = models.TextField()
    attempts = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=16, choices=IncidentStatus.choices, default=IncidentStatus.OPEN)
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    command = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ("-opened_at", "-id")
        indexes = (models.Index(fields=("status", "-opened_at"), name="incident_status_opened"),)

    def __str__(self) -> str:
        return f"incident {self.pk} {self.kind} ({self.status})"

    @property
    def retryable(self) -> bool:
        """True when the incident is open and holds a command to run again."""
        return self.status == IncidentStatus.OPEN and self.command is not None
