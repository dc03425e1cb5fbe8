"""Running the deferred escalation actions (email, webhook, message) outside any transaction or lock.

`escalation_deliver(delivery_id)` claims the row (pending -> running, `SKIP LOCKED`) in a short
transaction, does the work with no transaction open (SMTP, HTTP, or a step of the instance through
the pipeline), then records the outcome in a second short transaction. A retryable failure puts the
row back to pending; the Celery task retries with back-off and, after `MAX_ATTEMPTS`, the row fails.
`escalations_resend_stale` is the backstop: rows pending or running long after their last claim
(broker down at commit, worker died mid-action) are enqueued again.

Delivery is at least once: a worker that dies after the email left but before the outcome was
written sends it again when the lease expires. Messages into the instance are idempotent enough
(the engine refuses a message nothing waits for any more).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.errors import Conflict, NotFound
from apps.instances.commands import DeliverMessageCommand
from apps.instances.models import MessageSubscription
from apps.instances.pipeline import SYSTEM_ACTOR, instance_step
from apps.sla.models import DeliveryStatus, EscalationDelivery

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
WEBHOOK_TIMEOUT_SECONDS = 10.0
LEASE = timedelta(minutes=2)  # a running row older than this was abandoned by its worker


class RetryLater(Exception):
    """The action could not run now (network, busy instance); try again later."""


def escalation_deliver(*, delivery_id: int, now: datetime | None = None) -> str:
    """Run one deferred action once; return its status afterwards (`done`, `pending`, `failed` ...)."""
    row = _claim(delivery_id, now or timezone.now())
    if row is None:
        return "not_pending"
    try:
        status, detail = DeliveryStatus.DONE, _RUNNERS[row.action](row)
    except RetryLater as exc:
        status = DeliveryStatus.FAILED if row.attempts >= MAX_ATTEMPTS else DeliveryStatus.PENDING
        detail = f"attempt {row.attempts}: {exc}"
    except _Skip as exc:
        status, detail = DeliveryStatus.SKIPPED, str(exc)
    except Exception as exc:
        logger.exception("escalation action failed", extra={"instance_id": str(row.breach.instance_id)})
        status, detail = DeliveryStatus.FAILED, f"{type(exc).__name__}: {exc}"
    done_at = timezone.now() if status != DeliveryStatus.PENDING else None
    EscalationDelivery.objects.filter(pk=row.pk).update(status=status, detail=detail[:2000], done_at=done_at)
    return str(status)


def _claim(delivery_id: int, now: datetime) -> EscalationDelivery | None:
    with transaction.atomic():
        row = (EscalationDelivery.objects.select_for_update(skip_locked=True)
               .filter(pk=delivery_id).filter(_claimable(now)).first())
        if row is None:
            return None
        row.status, row.claimed_at, row.attempts = DeliveryStatus.RUNNING, now, row.attempts + 1
        row.save(update_fields=["status", "claimed_at", "attempts"])
    # The breach (and its deadline) for the action's text; read after the commit, outside the lock.
    return EscalationDelivery.objects.select_related("breach__instance").get(pk=row.pk)


def _claimable(now: datetime) -> Q:
    return Q(status=DeliveryStatus.PENDING) | Q(status=DeliveryStatus.RUNNING, claimed_at__lte=now - LEASE)


def escalations_resend_stale(*, now: datetime | None = None, grace: timedelta = timedelta(seconds=30),
                             limit: int = 100) -> int:
    """Backstop: enqueue again deliveries pending past `grace` since their last claim, or abandoned."""
    from apps.sla.tasks import deliver_escalation  # noqa: PLC0415 - tasks import this module

    now = now or timezone.now()
    stale = (Q(status=DeliveryStatus.PENDING) & (Q(claimed_at__lte=now - grace) | Q(
        claimed_at__isnull=True, created_at__lte=now - grace))) | Q(status=DeliveryStatus.RUNNING,
                                                                  claimed_at__lte=now - LEASE)
    ids = list(EscalationDelivery.objects.filter(stale).order_by("created_at").values_list("pk", flat=True)[:limit])
    for delivery_id in ids:
        deliver_escalation.delay(delivery_id)
    return len(ids)


class _Skip(Exception):
    """Nothing to act on (the instance no longer waits for the message)."""


def _event(row: EscalationDelivery) -> dict[str, Any]:
    breach = row.breach
    return {
        "event": f"sla.{breach.kind}",
        "instance_id": str(breach.instance_id),
        "business_key": breach.instance.business_key,
        "process_key": breach.process_key,
        "activity_id": breach.activity_id or None,
        "policy": breach.policy,
        "due_at": breach.due_at.isoformat(),
        "recorded_at": breach.recorded_at.isoformat(),
    }


def _email(row: EscalationDelivery) -> str:
    event = _event(row)
    what = event["activity_id"] or "the process"
    subject = f"[Patchbay] SLA {row.breach.kind.replace('_', ' ')}: {event['process_key']} {what}"
    body = "\n".join(f"{key}: {value}" for key, value in event.items())
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, list(row.config["to"]))
    except OSError as exc:  # SMTP trouble (smtplib errors are OSErrors)
        raise RetryLater(f"mail not sent: {exc}") from exc
    return f"mailed {', '.join(row.config['to'])}"


def _webhook(row: EscalationDelivery) -> str:
    url = row.config["url"]
    try:
        response = httpx.post(url, json=_event(row), timeout=WEBHOOK_TIMEOUT_SECONDS,
                              headers={"Idempotency-Key": f"sla-escalation-{row.pk}"})
    except httpx.HTTPError as exc:
        raise RetryLater(f"POST {url} failed: {exc}") from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise RetryLater(f"POST {url} answered {response.status_code}")
    if response.status_code >= 400:
        raise RuntimeError(f"POST {url} answered {response.status_code}")
    return f"POST {url} -> {response.status_code}"


def _message(row: EscalationDelivery) -> str:
    """Deliver the message into this instance only, with the correlation its subscription expects."""
    instance_id, name = row.breach.instance_id, row.config["name"]
    subscription = MessageSubscription.objects.filter(instance_id=instance_id, name=name).first()
    if subscription is None:
        raise _Skip(f"the instance does not wait for message {name!r}")
    command = DeliverMessageCommand(name=name, correlation=dict(subscription.correlation),
                                    variables={**row.config.get("variables", {}), "sla_event": _event(row)})
    try:
        instance_step(instance_id=instance_id, command=command, actor=SYSTEM_ACTOR)
    except Conflict as exc:
        if exc.code == "instance_busy":
            raise RetryLater("the instance is busy") from exc
        raise _Skip(f"message not accepted: {exc.code}") from exc
    except NotFound as exc:
        raise _Skip("the instance no longer exists") from exc
    return f"message {name!r} delivered"


_RUNNERS: dict[str, Callable[[EscalationDelivery], str]] = {"email": _email, "webhook": _webhook,
                                                            "message": _message}
