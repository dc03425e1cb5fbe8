"""The SLA sweep (Celery beat, every second): pause and resume clocks, record at-risk and breaches.

Concurrency guarantee: any number of sweeps may run at once (beat on several workers, a slow sweep
overlapping the next). Each deadline is handled in its own transaction that first takes its
*instance* row with `SKIP LOCKED` - the pipeline's lock order (instance, then SLA rows), so a sweep
never deadlocks with a step - and re-checks the deadline under that lock. An instance that a step
or another sweep holds is left for the next sweep, a second later. Each at-risk and breach event is
recorded exactly once: the instance lock serialises the sweeps, and `SlaBreach` is unique per
(deadline, kind) as a last line of defence. A failure is logged and the sweep goes on.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from apps.instances.locking import lock_instance_skip_locked
from apps.instances.models import InstanceEvent, InstanceStatus, ProcessInstance
from apps.instances.pipeline import SYSTEM_ACTOR
from apps.instances.trail import EventDraft, append_events
from apps.sla.delivery import escalations_resend_stale
from apps.sla.escalations import escalations_fire
from apps.sla.models import BreachKind, Deadline, SlaBreach
from apps.sla.policies import clocks_for

logger = logging.getLogger(__name__)


def sla_sweep(*, now: datetime | None = None, limit: int = 500) -> int:
    """One pass: reconcile suspensions, fire due thresholds, re-send stale escalations; return events fired."""
    now = now or timezone.now()
    for part in (deadlines_reconcile_suspensions, escalations_resend_stale):
        try:
            part(now=now)
        except Exception:
            logger.exception("SLA sweep part failed: %s", part.__name__)
    return deadlines_fire_due(now=now, limit=limit)


def deadlines_fire_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Record the at-risk and breach events of every deadline whose next threshold has passed.

    Takes due rows in `next_check_at` order (at most `limit`), each in its own transaction (module
    docstring). Returns how many events it recorded.
    """
    now = now or timezone.now()
    due = list(Deadline.objects.filter(next_check_at__lte=now).order_by("next_check_at")
               .values_list("pk", "instance_id")[:limit])
    fired = 0
    for deadline_id, instance_id in due:
        try:
            fired += _fire_one(deadline_id, instance_id, now)
        except Exception:
            logger.exception("SLA sweep could not check a deadline", extra={"instance_id": str(instance_id)})
    return fired


def _fire_one(deadline_id: int, instance_id: uuid.UUID, now: datetime) -> int:
    with transaction.atomic():
        instance = lock_instance_skip_locked(instance_id)
        if instance is None:
            return 0  # a step or another sweep holds it: next time
        deadline = Deadline.objects.select_for_update().filter(
            pk=deadline_id, next_check_at__lte=now, stopped_at__isnull=True).first()
        if deadline is None or (deadline.pause_on_suspend and instance.status == InstanceStatus.SUSPENDED):
            return 0  # already handled, stopped, or about to be paused by the reconciling pass
        kinds = []
        if deadline.at_risk_fired_at is None and deadline.at_risk_at <= now:
            kinds.append(BreachKind.AT_RISK)
            deadline.at_risk_fired_at = now
        if deadline.breached_at is None and deadline.due_at <= now:
            kinds.append(BreachKind.BREACHED)
            deadline.breached_at = now
        deadline.next_check_at = _next_check(deadline)
        deadline.save(update_fields=["at_risk_fired_at", "breached_at", "next_check_at"])
        breaches = [_record(instance, deadline, kind, now) for kind in kinds]
        for breach in breaches:
            escalations_fire(instance=instance, deadline=deadline, breach=breach, now=now)
        return len(breaches)


def _next_check(deadline: Deadline) -> datetime | None:
    """The earliest threshold still to fire, or None (both fired, paused or stopped)."""
    if deadline.stopped_at is not None or deadline.paused_at is not None:
        return None
    if deadline.at_risk_fired_at is None:
        return deadline.at_risk_at
    return deadline.due_at if deadline.breached_at is None else None


def _record(instance: ProcessInstance, deadline: Deadline, kind: str, now: datetime) -> SlaBreach:
    """The breach row and its `sla.at_risk` / `sla.breached` event in the instance's trail."""
    threshold = deadline.at_risk_at if kind == BreachKind.AT_RISK else deadline.due_at
    breach = SlaBreach.objects.create(
        deadline=deadline, kind=kind, instance=instance, process_key=deadline.process_key,
        activity_id=deadline.activity_id, policy=deadline.policy, due_at=threshold, recorded_at=now,
    )
    data = {"policy": deadline.policy, "due_at": deadline.due_at.isoformat(), "threshold_at": threshold.isoformat(),
            "started_at": deadline.started_at.isoformat(), "breach_id": breach.pk}
    append_events(instance=instance, drafts=[EventDraft(f"sla.{kind}", activity_id=deadline.activity_id, data=data)],
                  actor=SYSTEM_ACTOR, now=now)
    instance.save(update_fields=["event_seq"])
    logger.info("SLA %s: %s", kind, deadline.policy,
                extra={"instance_id": str(instance.pk), "business_key": instance.business_key,
                       "activity_id": deadline.activity_id or None})
    return breach


# -- suspension ------------------------------------------------------------------------------------

def deadlines_reconcile_suspensions(*, now: datetime | None = None, limit: int = 500) -> int:
    """Pause the clocks of suspended instances and resume those of resumed ones; return instances handled.

    Suspend and resume are lifecycle steps without an engine result, so no effect handler sees them;
    this pass reads the instance status instead and dates the pause from the trail's
    `instance.suspended` / `instance.resumed` events, so the clock is exact, not a second late.
    """
    now = now or timezone.now()
    open_rows = Deadline.objects.filter(stopped_at__isnull=True)
    to_pause = open_rows.filter(pause_on_suspend=True, paused_at__isnull=True,
                                instance__status=InstanceStatus.SUSPENDED)
    to_resume = open_rows.filter(paused_at__isnull=False).exclude(instance__status=InstanceStatus.SUSPENDED)
    by_instance: dict[uuid.UUID, list[int]] = defaultdict(list)
    for rows in (to_pause, to_resume):
        for pk, instance_id in rows.values_list("pk", "instance_id")[:limit]:
            by_instance[instance_id].append(pk)
    handled = 0
    for instance_id, deadline_ids in by_instance.items():
        try:
            handled += _reconcile_one(instance_id, deadline_ids, now)
        except Exception:
            logger.exception("SLA sweep could not pause/resume clocks", extra={"instance_id": str(instance_id)})
    return handled


def _reconcile_one(instance_id: uuid.UUID, deadline_ids: list[int], now: datetime) -> int:
    with transaction.atomic():
        instance = lock_instance_skip_locked(instance_id)
        if instance is None:
            return 0
        rows = list(Deadline.objects.select_for_update().filter(pk__in=deadline_ids, stopped_at__isnull=True))
        suspended = instance.status == InstanceStatus.SUSPENDED
        if suspended:
            at = _last_event_at(instance, "instance.suspended", now)
            for row in rows:
                if row.paused_at is None and row.pause_on_suspend:
                    row.paused_at, row.next_check_at = at, None
                    row.save(update_fields=["paused_at", "next_check_at"])
            return 1
        at = _last_event_at(instance, "instance.resumed", now)
        clocks = clocks_for((row.calendar, row.timezone) for row in rows)
        for row in rows:
            if row.paused_at is None:
                continue
            clock, paused = clocks[(row.calendar, row.timezone)], row.paused_at
            # Push each threshold still ahead of the pause by the working time the pause took away.
            if row.at_risk_at > paused:
                row.at_risk_at = clock.add(at, clock.between(paused, row.at_risk_at))
            if row.due_at > paused:
                row.due_at = clock.add(at, clock.between(paused, row.due_at))
            row.paused_at = None
            row.next_check_at = _next_check(row)
            row.save(update_fields=["at_risk_at", "due_at", "paused_at", "next_check_at"])
        return 1


def _last_event_at(instance: ProcessInstance, event_type: str, default: datetime) -> datetime:
    at = (InstanceEvent.objects.filter(instance=instance, type=event_type).order_by("-seq")
          .values_list("at", flat=True).first())
    return at or default
