"""The audit trail and incident rows a step writes. Called only under the instance lock.

The lock is what makes `seq` safe: the pipeline holds the instance row, so reading `event_seq` and
handing out the next numbers cannot race with another step of the same instance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from apps.core.rows import insert_rows
from apps.instances.models import Incident, IncidentStatus, InstanceEvent, ProcessInstance


@dataclass(frozen=True)
class EventDraft:
    """An audit event before it has a number: dotted past-tense type, activity and data."""

    type: str
    activity_id: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def append_events(*, instance: ProcessInstance, drafts: list[EventDraft], actor: str, now: datetime) -> None:
    """Insert the events with consecutive `seq` after the instance's last one, in one query.

    Advances `instance.event_seq` in memory only: the caller saves it with the step's other fields,
    so a step costs one UPDATE of the instance row.
    """
    if not drafts:
        return
    first = instance.event_seq + 1
    insert_rows(
        InstanceEvent,
        [
            InstanceEvent(
                instance=instance,
                seq=first + offset,
                type=draft.type,
                activity_id=draft.activity_id,
                actor=actor,
                at=now,
                data=draft.data,
            )
            for offset, draft in enumerate(drafts)
        ]
    )
    instance.event_seq = first + len(drafts) - 1


def open_incident(
    *,
    instance: ProcessInstance,
    kind: str,
    message: str,
    activity_id: str,
    command: dict[str, Any] | None,
    now: datetime,
) -> EventDraft:
    """Create an open incident and return its `incident.opened` event."""
    incident = Incident.objects.create(
        instance=instance,
        kind=kind,
        message=message,
        activity_id=activity_id,
        command=command,
        opened_at=now,
    )
    return EventDraft(
        "incident.opened",
        activity_id=activity_id,
        data={
            "incident_id": incident.pk,
            "kind": kind,
            "message": message,
            "command": command.get("kind") if command else None,
        },
    )


def resolve_incident(*, instance: ProcessInstance, incident_id: int, now: datetime) -> list[EventDraft]:
    """Mark the incident resolved (its retry succeeded) and return the `incident.resolved` event."""
    incident = Incident.objects.select_for_update().get(pk=incident_id, instance=instance)
    incident.status = IncidentStatus.RESOLVED
    incident.resolved_at = now
    incident.save(update_fields=["status", "resolved_at"])
    return [
        EventDraft(
            "incident.resolved",
            activity_id=incident.activity_id,
            data={"incident_id": incident.pk, "attempts": incident.attempts, "reason": "retried"},
        )
    ]


def close_open_incidents(*, instance: ProcessInstance, now: datetime, reason: str) -> list[EventDraft]:
    """Resolve every open incident of the instance (it was cancelled: nothing is left to retry)."""
    drafts = []
    for incident in instance.incidents.select_for_update().filter(status=IncidentStatus.OPEN).order_by("pk"):
        incident.status = IncidentStatus.RESOLVED
        incident.resolved_at = now
        incident.save(update_fields=["status", "resolved_at"])
        drafts.append(
            EventDraft(
                "incident.resolved",
                activity_id=incident.activity_id,
                data={"incident_id": incident.pk, "reason": reason},
            )
        )
    return drafts


def incidents_known_empty(instance: ProcessInstance) -> None:
    """Let `instance.incidents.all()` answer "none" without a query (a step that just inserted the
    instance and opened no incident knows it has none, and the start's answer lists its incidents).

    Stored as Django's `prefetch_related_objects` stores a prefetch, so a later prefetch of
    `incidents` skips it and a `filter` on the relation still queries the database.
    """
    queryset = instance.incidents.all()  # the relation's filter; nothing runs
    queryset._result_cache = []  # evaluated: iterating, `len`, `exists` ... answer from it
    cache = instance.__dict__.setdefault("_prefetched_objects_cache", {})
    cache[Incident._meta.get_field("instance").remote_field.cache_name] = queryset
