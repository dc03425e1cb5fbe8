"""Runtime state: instances, audit trail, incidents, message subscriptions and start-event schedules."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

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
    process_key = models.CharField(max_length=255)
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
    # The timer sweep's claim (`apps.instances.timers_sweep`): the `next_timer_at` it handed to a
    # worker, and until when that hand-over counts. A re-armed timer (a new `next_timer_at`) or an
    # expired lease (the message was lost) makes the instance claimable again.
    timer_dispatched_for = models.DateTimeField(null=True, blank=True)
    timer_lease_until = models.DateTimeField(null=True, blank=True)
    # Not auto_now_add: the first step runs before the row is inserted and starts SLA clocks from it.
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The seq of the last audit event: the pipeline hands out the next ones under the row lock.
    event_seq = models.PositiveIntegerField(default=0)
    # True while the instance has a running SLA clock (`apps.sla.clock` keeps it): a step of an
    # instance without clocks, of a process without policies, needs no SLA query at all.
    sla_clocks = models.BooleanField(default=False)

    class Meta:
        ordering = ("-started_at",)
        # `process_key` by a plain index: `db_index=True` on a CharField also built a `LIKE` index on
        # PostgreSQL that no query uses and every step whose status changes paid to maintain.
        indexes = (
            models.Index(fields=("status", "-started_at"), name="instance_status_started"),
            models.Index(fields=("process_key",), name="instance_process_key"),
        )
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

    # No index of its own: the unique (instance, seq) serves every lookup by instance.
    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="events", db_index=False)
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


class MessageSubscription(models.Model):
    """A catch event or receive task of an instance waiting for a message: the routing index.

    The pipeline replaces an instance's rows with the engine's list after every successful step, in
    the step's transaction, so the index never disagrees with a committed snapshot. `correlation`
    holds the values the instance expects; `correlation_key` is the same dict as canonical JSON
    (sorted keys, no blanks), so routing finds candidates by exact index look-up
    (`apps.instances.messaging`). An empty correlation (`{}`) matches any message of that name.
    """

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="subscriptions")
    name = models.CharField(max_length=255)
    correlation = models.JSONField(default=dict, blank=True)
    correlation_key = models.TextField()
    task_id = models.CharField(max_length=64)
    activity_id = models.CharField(max_length=255)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ("created_at", "id")
        indexes = (models.Index(fields=("name", "correlation_key"), name="subscription_name_corr"),)

    def __str__(self) -> str:
        return f"{self.name} {self.correlation_key} -> {self.instance_id}"


class OutboundMessageStatus(models.TextChoices):
    """Where a message an instance threw stands: waiting to be routed, routed, or matched nobody."""

    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    UNMATCHED = "unmatched", "Unmatched"


class OutboundMessage(models.Model):
    """Outbox row of a message an instance threw (throw event, message end event, send task).

    Written in the throwing step's transaction; a Celery task routes it after commit and marks it in
    the same transaction as the deliveries, so routing happens exactly once even if the task runs
    twice. The beat sweep re-sends rows left pending (broker down when the step committed).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    source_instance = models.ForeignKey(
        ProcessInstance, null=True, on_delete=models.SET_NULL, related_name="thrown_messages"
    )
    activity_id = models.CharField(max_length=255, blank=True)
    name = models.CharField(max_length=255)
    correlation = models.JSONField(default=dict, blank=True)
    variables = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=OutboundMessageStatus.choices, default=OutboundMessageStatus.PENDING
    )
    instance_ids = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()
    routed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("created_at",)
        indexes = (
            models.Index(
                fields=("created_at",), name="outbound_message_pending", condition=Q(status="pending")
            ),
        )

    def __str__(self) -> str:
        return f"{self.name} from {self.source_instance_id} ({self.status})"


class MessageStartEvent(models.Model):
    """A message start event of the latest version of a process key: where an unmatched message starts.

    Filled from `bpmn.Engine.start_events` when a definition is indexed (post-deploy hook, and the
    reconciling pass of the sweep); deploying a newer version replaces the older version's rows.
    """

    definition = models.ForeignKey(ProcessDefinition, on_delete=models.CASCADE, related_name="+")
    process_key = models.CharField(max_length=255)
    activity_id = models.CharField(max_length=255)
    message_name = models.CharField(max_length=255, db_index=True)

    class Meta:
        ordering = ("process_key", "activity_id")
        constraints = (
            models.UniqueConstraint(fields=("definition", "activity_id"), name="message_start_unique"),
        )

    def __str__(self) -> str:
        return f"{self.message_name} starts {self.process_key}.{self.activity_id}"


class StartTimer(models.Model):
    """The schedule of one timer start event of the latest version of a process key.

    `anchor` is when the schedule began (the version's deployment); `next_fire_at` the next
    occurrence (null once a date, a duration or a bounded cycle is spent). The start-timer sweep
    (`apps.instances.start_timers`) starts one instance per occurrence and advances the row.
    """

    definition = models.ForeignKey(ProcessDefinition, on_delete=models.CASCADE, related_name="+")
    process_key = models.CharField(max_length=255)
    activity_id = models.CharField(max_length=255)
    timer_kind = models.CharField(max_length=16)
    timer_text = models.TextField()
    anchor = models.DateTimeField()
    next_fire_at = models.DateTimeField(null=True, blank=True, db_index=True)
    fired_count = models.PositiveIntegerField(default=0)
    last_fired_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ("process_key", "activity_id")
        constraints = (
            models.UniqueConstraint(fields=("definition", "activity_id"), name="start_timer_unique"),
        )

    def __str__(self) -> str:
        return f"{self.process_key}.{self.activity_id} next {self.next_fire_at}"


class StartTimerFiring(models.Model):
    """One occurrence of a timer start event that fired: the guard against starting it twice.

    Unique per (process key, start event, occurrence): two sweeps, or a schedule moved to a new
    version, can never start two instances for one occurrence.
    """

    process_key = models.CharField(max_length=255)
    activity_id = models.CharField(max_length=255)
    occurrence = models.DateTimeField()
    definition = models.ForeignKey(ProcessDefinition, on_delete=models.CASCADE, related_name="+")
    instance = models.ForeignKey(ProcessInstance, null=True, on_delete=models.SET_NULL, related_name="+")
    fired_at = models.DateTimeField()

    class Meta:
        ordering = ("-occurrence",)
        constraints = (
            models.UniqueConstraint(
                fields=("process_key", "activity_id", "occurrence"), name="start_timer_firing_unique"
            ),
        )

    def __str__(self) -> str:
        return f"{self.process_key}.{self.activity_id} @ {self.occurrence.isoformat()}"


class StartEventScan(models.Model):
    """Marks a definition whose start events were indexed (message starts, start timers).

    The reconciling pass indexes every definition without this row, so versions deployed before the
    feature, or whose post-deploy hook did not run, are picked up; after that it costs one query.
    """

    definition = models.OneToOneField(
        ProcessDefinition, primary_key=True, on_delete=models.CASCADE, related_name="start_event_scan"
    )
    scanned_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"start events of {self.definition_id} scanned {self.scanned_at.isoformat()}"


class SignalSubscription(models.Model):
    """Index row: an instance can catch signal `name` now (catch/boundary event, event sub-process start).

    Rewritten after every step of an instance whose model has signals (`apps.instances.signals`), in
    the step's transaction; a broadcast finds its recipients through the `name` index.
    """

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="signal_subscriptions")
    name = models.CharField(max_length=255, db_index=True)
    activity_id = models.CharField(max_length=255)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ("created_at", "id")
        constraints = (
            models.UniqueConstraint(fields=("instance", "name", "activity_id"), name="signal_subscription_unique"),
        )

    def __str__(self) -> str:
        return f"{self.name} -> {self.instance_id}"


class OutboundSignal(models.Model):
    """Outbox row of a signal an instance threw, or one posted to `POST /signals/`.

    Routed once (the row is locked and marked in the routing transaction) by a Celery task on queue
    `engine` after commit; `instance_ids` lists the instances it reached or started.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    source_instance = models.ForeignKey(
        ProcessInstance, null=True, on_delete=models.SET_NULL, related_name="thrown_signals"
    )
    name = models.CharField(max_length=255)
    variables = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=OutboundMessageStatus.choices, default=OutboundMessageStatus.PENDING
    )
    instance_ids = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()
    routed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("created_at",)
        indexes = (
            models.Index(fields=("created_at",), name="outbound_signal_pending", condition=Q(status="pending")),
        )

    def __str__(self) -> str:
        return f"signal {self.name} from {self.source_instance_id} ({self.status})"


class SignalStartEvent(models.Model):
    """Index row: a definition starts an instance when signal `signal_name` is broadcast.

    Every version is indexed once (`signal_starts` in `SignalStartScan`); routing starts only the
    latest version of each process key, as message start events do.
    """

    definition = models.ForeignKey(ProcessDefinition, on_delete=models.CASCADE, related_name="+")
    process_key = models.CharField(max_length=255)
    activity_id = models.CharField(max_length=255)
    signal_name = models.CharField(max_length=255, db_index=True)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=("definition", "activity_id"), name="signal_start_unique"),
        )

    def __str__(self) -> str:
        return f"{self.process_key} starts on signal {self.signal_name}"


class SignalStartScan(models.Model):
    """Marks a definition whose signal start events are indexed (`SignalStartEvent`)."""

    definition = models.OneToOneField(
        ProcessDefinition, primary_key=True, on_delete=models.CASCADE, related_name="signal_start_scan"
    )
    scanned_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"signal starts of definition {self.definition_id} scanned at {self.scanned_at}"
