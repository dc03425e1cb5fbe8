"""The start-timer sweep: definitions with timer start events start their own instances.

Schedules (`StartTimer`, one per timer start event of the latest version of a key) are kept by
`apps.instances.start_index`. Downtime policy: occurrences missed while no sweep ran collapse into
one firing on the next sweep (for the earliest missed occurrence), and the schedule then continues
with the first occurrence after *now*: a monthly report down for three months runs once on restart,
not three times. This is Camunda's behaviour for an overdue timer-start job.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.errors import Conflict
from apps.instances.models import ProcessInstance, StartTimer, StartTimerFiring
from apps.instances.services import instance_start
from apps.instances.start_index import start_events_reconcile, start_timer_next
from bpmn import StartTrigger

logger = logging.getLogger(__name__)


def start_timers_fire_due(*, now: datetime | None = None, limit: int = 100) -> int:
    """Start an instance for every due start-timer occurrence; return how many instances started.

    First reconciles the schedules (new or never-indexed definitions). Due schedules are taken in
    `next_fire_at` order, at most `limit`. Each one gets its own transaction: the row is locked with
    `SKIP LOCKED` and re-checked (still due) under the lock; the `StartTimerFiring` row of the
    occurrence, the instance with its first step, and the advanced schedule commit together.
    Concurrency guarantee: any number of sweeps may run at once and each occurrence starts exactly
    one instance - a schedule another sweep holds is skipped, and the unique (process key, start
    event, occurrence) firing row rejects a second start even across a schedule moved to a new
    version. A failing schedule is logged and the sweep goes on.
    """
    now = now or timezone.now()
    start_events_reconcile()
    due_ids = list(
        StartTimer.objects.filter(next_fire_at__lte=now).order_by("next_fire_at").values_list("pk", flat=True)[:limit]
    )
    started = 0
    for timer_id in due_ids:
        try:
            started += _fire_one(timer_id, now)
        except Exception:
            logger.exception("start-timer sweep could not fire a schedule", extra={"start_timer_id": timer_id})
    return started


def _fire_one(timer_id: int, now: datetime) -> bool:
    with transaction.atomic():
        timer = (
            StartTimer.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("definition")
            .defer("definition__source", "definition__warnings")
            .filter(pk=timer_id, next_fire_at__lte=now)
            .first()
        )
        if timer is None or timer.next_fire_at is None:
            return False  # another sweep holds it, it was advanced meanwhile, or it was replaced
        occurrence = timer.next_fire_at
        instance = _start_occurrence(timer, occurrence, now)
        # `max`: occurrences missed during downtime collapse into the one just fired.
        timer.next_fire_at, timer.error = start_timer_next(timer, after=max(occurrence, now))
        update_fields = ["next_fire_at", "error"]
        if instance is not None:
            timer.fired_count += 1
            timer.last_fired_at = now
            update_fields += ["fired_count", "last_fired_at"]
        timer.save(update_fields=update_fields)
        return instance is not None


def _start_occurrence(timer: StartTimer, occurrence: datetime, now: datetime) -> ProcessInstance | None:
    """Claim the occurrence and start its instance; None when it was already fired."""
    try:
        with transaction.atomic():
            firing = StartTimerFiring.objects.create(
                process_key=timer.process_key,
                activity_id=timer.activity_id,
                occurrence=occurrence,
                definition=timer.definition,
                fired_at=now,
            )
    except IntegrityError:
        logger.info("start timer occurrence already fired: %s.%s @ %s", timer.process_key, timer.activity_id,
                    occurrence.isoformat())
        return None
    try:
        # A savepoint: a refused start leaves no half-made instance, but the occurrence stays consumed.
        with transaction.atomic():
            instance = instance_start(
                process_key=timer.process_key,
                version=timer.definition.version,
                business_key=f"{timer.activity_id}@{occurrence.isoformat()}",
                started_by=None,
                trigger=StartTrigger("timer", activity_id=timer.activity_id),
            )
    except Conflict as exc:
        # `duplicate_business_key`: an unfinished instance of this occurrence exists already.
        logger.warning("start timer occurrence not started: %s (%s)", exc.message, exc.code)
        return None
    firing.instance = instance
    firing.save(update_fields=["instance"])
    return instance
