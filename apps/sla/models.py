"""SLA state: business calendars, ops policy overrides, deadlines, breaches and escalation deliveries."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q

from apps.instances.models import ProcessInstance
from apps.worklist.models import WorkItem


def _weekdays() -> list[int]:
    return [0, 1, 2, 3, 4]


class BusinessCalendar(models.Model):
    """Working time for business-time SLAs: working days and hours in a time zone, minus public holidays.

    `country`/`subdivision` select the public holidays of the `holidays` package (ISO codes such as
    `AT` and `9` for Vienna; blank country = no public holidays); `extra_holidays` adds closing days
    (`YYYY-MM-DD`). `working_days` are ISO weekday numbers from 0 (Monday) to 6 (Sunday).
    """

    name = models.SlugField(max_length=64, unique=True)
    country = models.CharField(max_length=8, blank=True, default="AT")
    subdivision = models.CharField(max_length=16, blank=True)
    working_days = models.JSONField(default=_weekdays)
    work_start = models.TimeField(default=dt.time(8, 0))
    work_end = models.TimeField(default=dt.time(17, 0))
    timezone = models.CharField(max_length=64, default="Europe/Vienna")
    extra_holidays = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class SlaPolicy(models.Model):
    """An ops override of the SLA of one process key (`activity_id` blank) or one of its activities.

    Each field left empty (`None`, or `""` for names) inherits the model's declaration; with no
    declaration in the model the override must name a `target`. `enabled=False` switches the SLA of
    that element off. `escalations` is the ordered action list (docs/sla.md), fired once per
    at-risk or breach event of a deadline.
    """

    process_key = models.CharField(max_length=255)
    activity_id = models.CharField(max_length=255, blank=True)
    enabled = models.BooleanField(default=True)
    target = models.DurationField(null=True, blank=True)
    at_risk = models.DurationField(null=True, blank=True)
    calendar = models.CharField(max_length=64, blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    pause_on_suspend = models.BooleanField(null=True, blank=True)
    escalations = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("process_key", "activity_id")
        constraints = (
            models.UniqueConstraint(fields=("process_key", "activity_id"), name="sla_policy_element_unique"),
        )

    def __str__(self) -> str:
        return f"{self.process_key}/{self.activity_id or '(process)'}"


class DeadlineOutcome(models.TextChoices):
    """How a deadline ended: in time, late, or the work was cut short (cancelled, failed)."""

    MET = "met", "Met"
    MISSED = "missed", "Missed"
    ABORTED = "aborted", "Aborted"


class Deadline(models.Model):
    """The SLA clock of one instance (process) or one activity of it, from start to stop.

    Set by the pipeline's effect handler (`apps.sla.clock`) in the step that starts the work and
    stopped in the step that ends it. `next_check_at` is the earliest threshold still to fire
    (at risk, then due) while the clock runs; null once both fired, while paused, or when stopped -
    the sweep reads only this indexed column. Pausing (instance suspended) records `paused_at`;
    resuming pushes `at_risk_at`/`due_at` by the paused time in the deadline's calendar.
    The policy is copied onto the row so later policy edits do not move running clocks.
    """

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="sla_deadlines")
    process_key = models.CharField(max_length=255)
    activity_id = models.CharField(max_length=255, blank=True)  # blank: the whole process
    work_item = models.ForeignKey(WorkItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    group = models.CharField(max_length=150, blank=True)  # first candidate group of the work item
    policy = models.CharField(max_length=300)  # "<key>/<activity or process> (model|override)"
    policy_override = models.ForeignKey(SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    calendar = models.CharField(max_length=64, default="wall")
    timezone = models.CharField(max_length=64, blank=True)
    pause_on_suspend = models.BooleanField(default=True)
    escalations = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField()
    at_risk_at = models.DateTimeField()
    due_at = models.DateTimeField()
    next_check_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    at_risk_fired_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=DeadlineOutcome.choices, blank=True)

    class Meta:
        ordering = ("due_at",)
        indexes = (
            models.Index(fields=("next_check_at",), name="deadline_next_check",
                         condition=Q(next_check_at__isnull=False)),
            models.Index(fields=("instance", "stopped_at"), name="deadline_instance_open"),
            models.Index(fields=("process_key", "activity_id", "started_at"), name="deadline_process_started"),
        )
        constraints = (
            # One running clock per element of an instance (a loop starts a new one after the stop).
            models.UniqueConstraint(fields=("instance", "activity_id"), condition=Q(stopped_at__isnull=True),
                                    name="deadline_open_unique"),
        )

    def __str__(self) -> str:
        return f"{self.instance_id} {self.activity_id or '(process)'} due {self.due_at.isoformat()}"

    @property
    def is_open(self) -> bool:
        """True while the clock runs or is paused."""
        return self.stopped_at is None


class BreachKind(models.TextChoices):
    """At risk (the warning threshold passed) or breached (the target passed)."""

    AT_RISK = "at_risk", "At risk"
    BREACHED = "breached", "Breached"


class SlaBreach(models.Model):
    """One at-risk or breach event of a deadline, recorded exactly once (unique per deadline and kind).

    `due_at` is the threshold that passed (the at-risk time or the due time) as it stood then;
    `recorded_at` is when the sweep saw it (within about a second).
    """

    deadline = models.ForeignKey(Deadline, on_delete=models.CASCADE, related_name="breaches")
    kind = models.CharField(max_length=16, choices=BreachKind.choices)
    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="+")
    process_key = models.CharField(max_length=255)
    activity_id = models.CharField(max_length=255, blank=True)
    policy = models.CharField(max_length=300)
    due_at = models.DateTimeField()
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ("-recorded_at", "-id")
        indexes = (models.Index(fields=("kind", "process_key", "-recorded_at"), name="breach_kind_process"),)
        constraints = (models.UniqueConstraint(fields=("deadline", "kind"), name="breach_once_per_kind"),)

    def __str__(self) -> str:
        return f"{self.kind} {self.instance_id} {self.activity_id or '(process)'}"


class DeliveryStatus(models.TextChoices):
    """An escalation action: waiting to run, running, done, failed for good, or skipped (nothing to act on)."""

    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class EscalationDelivery(models.Model):
    """One escalation action of one at-risk/breach event: the record that it ran (once) and how.

    Database actions (reassign, priority) run in the sweep's transaction; notifications (email,
    webhook) and message deliveries run in a Celery task after the commit, never under a lock.
    """

    breach = models.ForeignKey(SlaBreach, on_delete=models.CASCADE, related_name="deliveries")
    position = models.PositiveSmallIntegerField()
    action = models.CharField(max_length=16)
    config = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)  # a worker started it (lease for the backstop)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("breach", "position")
        indexes = (models.Index(fields=("status", "created_at"), name="delivery_status_created"),)
        constraints = (models.UniqueConstraint(fields=("breach", "position"), name="delivery_once_per_action"),)

    def __str__(self) -> str:
        return f"{self.action} #{self.position} of breach {self.breach_id} ({self.status})"
