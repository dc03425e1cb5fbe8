"""The index of start events that other parts fire: message start events and start-timer schedules.

Only the latest version of each process key is indexed (as Camunda does: deploying a new version
replaces the timer start schedule and the message start subscriptions of the older one). Indexing
runs from the post-deploy hook (`apps.definitions.hooks`) and from `start_events_reconcile`, which
the sweep and the message router call first: it indexes every definition without a
`StartEventScan` row, so versions deployed before this feature, or whose hook never ran (process
killed between commit and hook), are indexed too. Once everything is scanned it costs one query.

Concurrency: indexing one process key locks every definition row of that key (`SELECT ... FOR
UPDATE`, in id order), so two indexers of one key run one after the other and the later one sees
the other's rows; the unique constraints make a repeated insert harmless.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

import bpmn
from apps.definitions.models import ProcessDefinition
from apps.instances.models import MessageStartEvent, StartEventScan, StartTimer
from apps.instances.runtime import get_engine, model_source_for
from bpmn.timers import next_start_time

logger = logging.getLogger(__name__)


def start_events_index(definition_id: int) -> None:
    """Post-deploy hook: index the process key of a newly deployed definition."""
    key = ProcessDefinition.objects.filter(pk=definition_id).values_list("key", flat=True).first()
    if key is not None:
        start_events_index_key(key=key)


def start_events_reconcile() -> int:
    """Index every process key that has a definition not scanned yet; return how many keys."""
    keys = list(
        ProcessDefinition.objects.filter(start_event_scan__isnull=True)
        .order_by("key")
        .values_list("key", flat=True)
        .distinct()
    )
    for key in keys:
        try:
            start_events_index_key(key=key)
        except Exception:
            logger.exception("could not index the start events of a process", extra={"process_key": key})
    return len(keys)


def start_events_index_key(*, key: str, now: datetime | None = None) -> None:
    """Make the index of `key` describe its latest version only, and mark every version scanned."""
    now = now or timezone.now()
    with transaction.atomic():
        versions = list(
            ProcessDefinition.objects.select_for_update()
            .filter(key=key)
            .defer("source", "warnings")
            .order_by("pk")
        )
        if not versions:
            return
        latest = max(versions, key=lambda d: d.version)
        if not StartEventScan.objects.filter(definition=latest).exists():
            _index_definition(latest, now)
        # Older versions no longer start anything by themselves.
        MessageStartEvent.objects.filter(process_key=key).exclude(definition=latest).delete()
        StartTimer.objects.filter(process_key=key).exclude(definition=latest).delete()
        StartEventScan.objects.bulk_create(
            [StartEventScan(definition=d, scanned_at=now) for d in versions], ignore_conflicts=True
        )


def _index_definition(definition: ProcessDefinition, now: datetime) -> None:
    try:
        infos = get_engine().start_events(model_source_for(definition))
    except Exception:
        # Deployed models compile; if one no longer does, log once (it is marked scanned) and go on.
        logger.exception("could not read the start events of a definition", extra={"definition_id": definition.pk})
        return
    MessageStartEvent.objects.bulk_create(
        [
            MessageStartEvent(
                definition=definition,
                process_key=definition.key,
                activity_id=info.activity_id,
                message_name=info.message_name or "",
            )
            for info in infos
            if info.kind == "message" and info.message_name
        ],
        ignore_conflicts=True,
    )
    StartTimer.objects.bulk_create(
        [_schedule(definition, info) for info in infos if info.kind == "timer" and info.timer_kind],
        ignore_conflicts=True,
    )


def _schedule(definition: ProcessDefinition, info: bpmn.StartEventInfo) -> StartTimer:
    """A new schedule anchored at the deployment: its first occurrence after the anchor."""
    timer = StartTimer(
        definition=definition,
        process_key=definition.key,
        activity_id=info.activity_id,
        timer_kind=info.timer_kind or "",
        timer_text=info.timer_text or "",
        anchor=definition.deployed_at,
    )
    timer.next_fire_at, timer.error = start_timer_next(timer, after=definition.deployed_at)
    return timer


def start_timer_next(timer: StartTimer, *, after: datetime) -> tuple[datetime | None, str]:
    """The schedule's first occurrence strictly after `after`, or None with the reason it has none.

    A timer text that cannot be read (an expression needing instance data) leaves the schedule
    without a next occurrence and the reason in `error`, visible in the admin and the logs.
    """
    try:
        at = next_start_time(timer.timer_text, timer.timer_kind, anchor=timer.anchor, after=after)  # type: ignore[arg-type]
    except (ValueError, TypeError, bpmn.ExpressionError) as exc:
        logger.warning("start timer %s.%s cannot be scheduled: %s", timer.process_key, timer.activity_id, exc)
        return None, str(exc)
    return at, ""
