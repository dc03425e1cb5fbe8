"""The outbox sweeper (Celery beat, every second): nothing the outbox holds is ever forgotten.

Each sweep:

1. sends the calls that are due: `retrying` calls whose back-off is over, and `pending` calls whose
   time came after their last message (rescheduled by the breaker, the concurrency limit or a
   resume) or whose message is older than `PATCHBAY_OUTBOX_PENDING_GRACE_SECONDS` (broker down,
   message lost). Paused systems are skipped;
2. fails the attempt of `running` calls past their lease (operation timeout + grace: the worker
   died) - a retryable failure like any other;
3. applies recorded outcomes that are still unapplied (the instance was busy or suspended);
4. opens the incidents the worker could not open (the instance was busy).

Concurrency guarantee: any number of sweeps may run at once (beat on several workers, a slow sweep
overlapping the next). Step 1 takes the due rows with `SKIP LOCKED`, so each is sent by one sweep;
steps 2-4 go through conditional updates and `applied_at` / `escalated` under locks, so a row
handled twice is handled once. A failure on one row is logged and the sweep goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.instances.models import InstanceStatus
from apps.integrations import registry
from apps.integrations.applying import call_apply, call_escalate
from apps.integrations.dispatch import send_calls_on_commit
from apps.integrations.invoke import Outcome
from apps.integrations.models import CallStatus, ExternalSystem, OutboundCall
from apps.integrations.services import Claim, call_record

logger = logging.getLogger(__name__)

# Outcomes the worker applies itself get this long before the sweeper steps in.
SETTLE_SECONDS = 5.0


def outbox_sweep(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Run the four steps once; return how many calls each one handled."""
    now = now or timezone.now()
    return {
        "sent": _send_due(now, limit),
        "lost": _each(_lost_ids(now, limit), lambda pk: _fail_lost(pk, now)),
        "applied": _each(_unapplied_ids(now, limit), lambda pk: call_apply(call_id=pk) == "applied"),
        "escalated": _each(_unescalated_ids(now, limit), lambda pk: call_escalate(call_id=pk) != "moot"),
    }


def _due(now: datetime) -> Q:
    grace = now - timedelta(seconds=settings.PATCHBAY_OUTBOX_PENDING_GRACE_SECONDS)
    unsent = Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=F("next_attempt_at")) | Q(enqueued_at__lte=grace)
    return Q(next_attempt_at__lte=now) & (Q(status=CallStatus.RETRYING) | (Q(status=CallStatus.PENDING) & unsent))


def _send_due(now: datetime, limit: int) -> int:
    paused = list(ExternalSystem.objects.filter(paused=True).values_list("name", flat=True))
    with transaction.atomic():
        rows = list(
            OutboundCall.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(_due(now))
            .exclude(system__in=paused)
            .order_by("next_attempt_at")
            .values_list("pk", "system")[:limit]
        )
        if rows:
            OutboundCall.objects.filter(pk__in=[pk for pk, _ in rows]).update(
                status=CallStatus.PENDING, enqueued_at=now
            )
            send_calls_on_commit(rows)
    return len(rows)


def _each(ids: list[int], handle: Callable[[int], bool]) -> int:
    done = 0
    for pk in ids:
        try:
            done += bool(handle(pk))
        except Exception:
            logger.exception("outbox sweep could not handle call %s", pk)
    return done


def _lost_ids(now: datetime, limit: int) -> list[int]:
    rows = OutboundCall.objects.filter(status=CallStatus.RUNNING, lease_until__lte=now)
    return list(rows.order_by("lease_until").values_list("pk", flat=True)[:limit])


def _fail_lost(pk: int, now: datetime) -> bool:
    call = OutboundCall.objects.filter(pk=pk, status=CallStatus.RUNNING, lease_until__lte=now).first()
    if call is None:
        return False
    message = "no result before the lease ran out: the worker running the call was lost"
    # Says nothing about the remote system (the worker died), so the breaker does not count it.
    claim = Claim(call=call, operation=registry.operation_get(call.operation))
    return call_record(claim=claim, outcome=Outcome("retryable", message=message), now=now) != "dropped"


def _settled(now: datetime) -> datetime:
    return now - timedelta(seconds=SETTLE_SECONDS)


def _unapplied_ids(now: datetime, limit: int) -> list[int]:
    answered = Q(status=CallStatus.SUCCEEDED) | (Q(status=CallStatus.FAILED) & ~Q(error_code=""))
    rows = OutboundCall.objects.filter(answered, applied_at__isnull=True, finished_at__lte=_settled(now))
    # A suspended instance takes no answer until it is resumed: do not knock every second.
    rows = rows.exclude(instance__status=InstanceStatus.SUSPENDED)
    return list(rows.order_by("finished_at").values_list("pk", flat=True)[:limit])


def _unescalated_ids(now: datetime, limit: int) -> list[int]:
    rows = OutboundCall.objects.filter(
        status=CallStatus.FAILED, error_code="", escalated=False, finished_at__lte=_settled(now)
    )
    return list(rows.order_by("finished_at").values_list("pk", flat=True)[:limit])
