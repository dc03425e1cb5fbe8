"""Message routing: who gets a message posted to `POST /messages/` or thrown by an instance.

Rules, in order (one transaction, all or nothing):

1. **Waiting instances.** Every waiting subscription with the message's name whose expected
   correlation values are all present and equal (as JSON values: `"42"` is not `42`) in the
   message's correlation. A subscription expecting nothing matches any correlation. The message is
   delivered to *every* matching instance (Camunda's `correlateAll`), each in its own step; the
   engine re-checks the correlation against the instance's own state, so an instance never accepts
   another instance's message. Suspended or finished instances are not candidates.
2. **Message start events.** Only if nobody waited: one new instance of the latest version of every
   process key with a message start event of that name; the correlation and the variables become
   its variables.
3. **Nobody.** Nothing changes. The API answers 404 `no_subscription`; a thrown message is recorded
   as `unmatched`. Messages are not buffered: a sender that is early retries.

Candidates are found through the (name, correlation_key) index: the keys asked for are the canonical
JSON of every sub-dict of the message's correlation (at most 2^8), so each matching subscription is
one exact index hit. Beyond `MAX_INDEXED_KEYS` properties the rows of that name are filtered here.

Locks: deliveries lock instance rows in id order, so two routers never deadlock; a busy instance
(`instance_busy`) aborts the whole routing, which the API answers with 409 and a worker retries.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from apps.core.errors import Conflict, NotFound
from apps.instances.commands import DeliverMessageCommand
from apps.instances.models import (
    InstanceStatus,
    MessageStartEvent,
    MessageSubscription,
    OutboundMessage,
    OutboundMessageStatus,
)
from apps.instances.pipeline import SYSTEM_ACTOR, instance_step
from apps.instances.services import instance_start
from apps.instances.start_index import start_events_reconcile
from apps.instances.subscriptions import correlation_key
from bpmn import StartTrigger

if TYPE_CHECKING:
    from datetime import datetime, timedelta

    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

MAX_INDEXED_KEYS = 8
_CANDIDATE_STATUSES = (InstanceStatus.WAITING, InstanceStatus.RUNNING)


@dataclass
class RouteOutcome:
    """Where a message went: the instances it was delivered to, or those it started."""

    delivered: list[uuid.UUID] = field(default_factory=list)
    started: list[uuid.UUID] = field(default_factory=list)

    @property
    def instance_ids(self) -> list[uuid.UUID]:
        """Delivered-to and started instances (one of the two lists is always empty)."""
        return [*self.delivered, *self.started]


def message_correlate(
    *,
    name: str,
    correlation: dict[str, Any] | None = None,
    variables: dict[str, Any] | None = None,
    business_key: str | None = None,
    actor: User | None,
) -> RouteOutcome:
    """Route a message from outside (the API): deliver, else start, else `NotFound` (`no_subscription`).

    `business_key` applies to instances the message starts. Raises `Conflict` (`instance_busy`) when
    a matching instance stayed locked, or `duplicate_business_key`; nothing changes in either case.
    """
    outcome = message_route(
        name=name, correlation=correlation or {}, variables=variables or {}, business_key=business_key, actor=actor
    )
    if not outcome.instance_ids:
        raise NotFound(
            f"No instance waits for message {name!r} with this correlation, and no process starts with it.",
            code="no_subscription",
        )
    return outcome


def message_route(
    *,
    name: str,
    correlation: dict[str, Any],
    variables: dict[str, Any],
    business_key: str | None = None,
    actor: User | None,
) -> RouteOutcome:
    """Apply the routing rules (module docstring) in one transaction and say where the message went."""
    with transaction.atomic():
        delivered = _deliver_to_waiting(name, correlation, variables, actor)
        if delivered:
            return RouteOutcome(delivered=delivered)
        return RouteOutcome(started=_start_by_message(name, correlation, variables, business_key, actor))


def subscribed_instance_ids(*, name: str, correlation: dict[str, Any]) -> list[uuid.UUID]:
    """Ids of waiting or running instances with a subscription the message matches, in id order."""
    rows = MessageSubscription.objects.filter(name=name, instance__status__in=_CANDIDATE_STATUSES)
    if len(correlation) <= MAX_INDEXED_KEYS:
        ids = set(rows.filter(correlation_key__in=_sub_dict_keys(correlation)).values_list("instance_id", flat=True))
    else:
        ids = {
            instance_id
            for instance_id, expected in rows.values_list("instance_id", "correlation")
            if all(k in correlation and correlation[k] == v for k, v in (expected or {}).items())
        }
    return sorted(ids, key=str)


def _sub_dict_keys(correlation: dict[str, Any]) -> list[str]:
    """Canonical keys of every sub-dict of `correlation` (the empty one included)."""
    items = sorted(correlation.items())
    return [
        correlation_key(dict(subset))
        for size in range(len(items) + 1)
        for subset in itertools.combinations(items, size)
    ]


def _deliver_to_waiting(
    name: str, correlation: dict[str, Any], variables: dict[str, Any], actor: User | None
) -> list[uuid.UUID]:
    command = DeliverMessageCommand(name=name, correlation=correlation, variables=variables)
    actor_name = actor.get_username() if actor is not None else SYSTEM_ACTOR
    delivered = []
    for instance_id in subscribed_instance_ids(name=name, correlation=correlation):
        try:
            instance_step(instance_id=instance_id, command=command, actor=actor_name)
        except Conflict as exc:
            if exc.code == "instance_busy":
                raise
            # The engine's own check refused it (or it finished meanwhile): not a recipient.
            logger.info("message not delivered: %s", exc.code, extra={"instance_id": str(instance_id)})
            continue
        delivered.append(instance_id)
    return delivered


def _start_by_message(
    name: str, correlation: dict[str, Any], variables: dict[str, Any], business_key: str | None, actor: User | None
) -> list[uuid.UUID]:
    start_events_reconcile()  # a version deployed a moment ago may not be indexed yet
    targets = (
        MessageStartEvent.objects.filter(message_name=name)
        .order_by("process_key")
        .values_list("process_key", "definition__version")
        .distinct()
    )
    started = []
    for process_key, version in targets:
        instance = instance_start(
            process_key=process_key,
            version=version,
            business_key=business_key,
            variables={**correlation, **variables},
            started_by=actor,
            trigger=StartTrigger("message", message_name=name),
        )
        started.append(instance.pk)
    return started


def outbound_message_route(*, message_id: uuid.UUID | str, now: datetime | None = None) -> bool:
    """Route one thrown message exactly once; False when it is routed already or another worker has it.

    The outbox row is locked (`SKIP LOCKED`) and marked in the same transaction as the deliveries,
    so running this twice (a redelivered Celery task, the backstop sweep) routes the message once.
    """
    with transaction.atomic():
        row = (
            OutboundMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, status=OutboundMessageStatus.PENDING)
            .first()
        )
        if row is None:
            return False
        outcome = message_route(name=row.name, correlation=row.correlation, variables=row.variables, actor=None)
        row.status = OutboundMessageStatus.DELIVERED if outcome.instance_ids else OutboundMessageStatus.UNMATCHED
        row.instance_ids = [str(i) for i in outcome.instance_ids]
        row.routed_at = now or timezone.now()
        row.save(update_fields=["status", "instance_ids", "routed_at"])
    if not outcome.instance_ids:
        logger.info("thrown message %r matched nobody", row.name, extra={"instance_id": str(row.source_instance_id)})
    return True


def outbound_messages_route_pending(*, older_than: timedelta, limit: int = 100, now: datetime | None = None) -> int:
    """Backstop sweep: route thrown messages still pending after `older_than` (the broker lost them).

    Returns how many it routed. Safe alongside workers routing the same rows (see above).
    """
    now = now or timezone.now()
    pending = list(
        OutboundMessage.objects.filter(status=OutboundMessageStatus.PENDING, created_at__lte=now - older_than)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    routed = 0
    for message_id in pending:
        try:
            routed += outbound_message_route(message_id=message_id, now=now)
        except Exception:
            logger.exception("could not route a pending thrown message", extra={"message_id": str(message_id)})
    return routed
