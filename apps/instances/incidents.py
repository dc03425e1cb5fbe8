"""Incidents opened from outside a step: another app found something the instance cannot get past.

`apps.integrations` opens one when an outbound call has spent its retries. The incident and its
`incident.opened` audit event are written under the instance lock (the same lock every step takes),
so `seq` numbering stays consecutive; nothing else about the instance changes.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.instances.locking import lock_instance_bounded
from apps.instances.models import Incident, IncidentStatus
from apps.instances.pipeline import SYSTEM_ACTOR
from apps.instances.trail import EventDraft, append_events, open_incident


def incident_open(
    *,
    instance_id: uuid.UUID | str,
    kind: str,
    message: str,
    activity_id: str,
    command: dict[str, Any] | None,
    attempts: int,
) -> Incident:
    """Open an incident on the instance with `attempts` already counted, and audit it.

    `command` is what `POST /incidents/{id}/retry/` runs (a registered retry hook's kind, or an engine
    command). Raises `NotFound` for an unknown instance and `Conflict(instance_busy)` when a step
    holds the instance past the lock timeout (the caller tries again later).
    """
    now = timezone.now()
    with transaction.atomic():
        instance = lock_instance_bounded(instance_id)
        event = open_incident(
            instance=instance, kind=kind, message=message, activity_id=activity_id, command=command, now=now
        )
        incident = Incident.objects.get(pk=event.data["incident_id"])
        if attempts != incident.attempts:
            incident.attempts = attempts
            incident.save(update_fields=["attempts"])
        event.data["attempts"] = attempts
        append_events(instance=instance, drafts=[event], actor=SYSTEM_ACTOR, now=now)
        instance.save(update_fields=["event_seq"])
        return incident


def incident_retry_failed(*, incident_id: int, message: str, attempts: int) -> Incident | None:
    """Count `attempts` more failed attempts on an open incident whose retry failed again.

    Updates its message, appends `incident.retry_failed` under the instance lock, and returns the
    incident; None when it is not open any more (resolved meanwhile: nothing to count).
    """
    now = timezone.now()
    incident = Incident.objects.filter(pk=incident_id).only("instance_id").first()
    if incident is None:
        return None
    with transaction.atomic():
        instance = lock_instance_bounded(incident.instance_id)
        incident = Incident.objects.select_for_update().filter(pk=incident_id, status=IncidentStatus.OPEN).first()
        if incident is None:
            return None
        incident.attempts += attempts
        incident.message = message
        incident.save(update_fields=["attempts", "message"])
        event = EventDraft(
            "incident.retry_failed",
            activity_id=incident.activity_id,
            data={"incident_id": incident.pk, "attempts": incident.attempts, "message": message},
        )
        append_events(instance=instance, drafts=[event], actor=SYSTEM_ACTOR, now=now)
        instance.save(update_fields=["event_seq"])
        return incident


def incident_resolve(*, incident_id: int, reason: str) -> bool:
    """Resolve an open incident and append `incident.resolved` (with `reason`) under the instance lock.

    For incidents whose fix happened outside a step (a re-armed service call got its answer).
    Returns False when it was not open (already resolved: nothing to do).
    """
    instance_id = Incident.objects.filter(pk=incident_id).values_list("instance_id", flat=True).first()
    if instance_id is None:
        return False
    now = timezone.now()
    with transaction.atomic():
        instance = lock_instance_bounded(instance_id)
        incident = Incident.objects.select_for_update().filter(pk=incident_id, status=IncidentStatus.OPEN).first()
        if incident is None:
            return False
        incident.status = IncidentStatus.RESOLVED
        incident.resolved_at = now
        incident.save(update_fields=["status", "resolved_at"])
        event = EventDraft(
            "incident.resolved",
            activity_id=incident.activity_id,
            data={"incident_id": incident.pk, "attempts": incident.attempts, "reason": reason},
        )
        append_events(instance=instance, drafts=[event], actor=SYSTEM_ACTOR, now=now)
        instance.save(update_fields=["event_seq"])
        return True
