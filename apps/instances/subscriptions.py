"""The message side of a step: keep the subscription index in line, and put thrown messages in the outbox.

The pipeline calls `step_messages_record` after every successful engine step, inside the step's
transaction and under the instance lock, so the index and the outbox commit (or roll back) together
with the snapshot they describe. Routing itself happens elsewhere (`apps.instances.messaging`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction

import bpmn
from apps.instances.models import MessageSubscription, OutboundMessage, ProcessInstance

logger = logging.getLogger(__name__)


def correlation_key(correlation: dict[str, Any]) -> str:
    """Canonical JSON of a correlation dict: sorted keys, no blanks; equal dicts give equal text."""
    return json.dumps(correlation, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def step_messages_record(
    *, instance: ProcessInstance, result: bpmn.StepResult, now: datetime, catches: bool
) -> None:
    """Replace the instance's subscriptions with the step's, and record the messages it threw.

    `catches`: whether the instance's model can wait for a message at all (`bpmn.Engine.traits`);
    one that cannot has no subscription rows, so there is nothing to diff.
    """
    if catches or result.subscriptions:
        subscriptions_replace(instance=instance, subscriptions=result.subscriptions, now=now)
    if result.messages_thrown:
        outbound_messages_record(instance=instance, messages=result.messages_thrown, now=now)


def subscriptions_replace(
    *, instance: ProcessInstance, subscriptions: Iterable[bpmn.MessageSubscription], now: datetime
) -> None:
    """Make the instance's index rows equal `subscriptions` (the engine's full list after a step).

    A diff rather than delete-and-insert: a subscription that stays keeps its row and `created_at`
    (routing order), and a step that changes nothing about messages costs a single query.
    """
    wanted = {(s.task_id, s.name, correlation_key(s.correlation)): s for s in subscriptions}
    kept: set[tuple[str, str, str]] = set()
    stale: list[int] = []
    for pk, task_id, name, key in instance.subscriptions.values_list("pk", "task_id", "name", "correlation_key"):
        ident = (task_id, name, key)
        if ident in wanted and ident not in kept:
            kept.add(ident)
        else:
            stale.append(pk)
    if stale:
        MessageSubscription.objects.filter(pk__in=stale).delete()
    new = [
        MessageSubscription(
            instance=instance,
            name=sub.name,
            correlation=sub.correlation,
            correlation_key=ident[2],
            task_id=sub.task_id,
            activity_id=sub.activity_id,
            created_at=now,
        )
        for ident, sub in wanted.items()
        if ident not in kept
    ]
    if new:
        MessageSubscription.objects.bulk_create(new)


def outbound_messages_record(
    *, instance: ProcessInstance, messages: Iterable[bpmn.ThrownMessage], now: datetime
) -> list[OutboundMessage]:
    """Write an outbox row per thrown message and have each routed by a worker after commit."""
    rows = OutboundMessage.objects.bulk_create(
        [
            OutboundMessage(
                source_instance=instance,
                activity_id=message.activity_id or "",
                name=message.name,
                correlation=dict(message.correlation),
                # SpiffWorkflow's payload is the thrower's data; a non-dict payload still travels.
                variables=message.payload if isinstance(message.payload, dict) else {"payload": message.payload},
                created_at=now,
            )
            for message in messages
        ]
    )
    for row in rows:
        message_id = str(row.pk)
        transaction.on_commit(lambda message_id=message_id: _send_route_task(message_id))  # type: ignore[misc]
    return rows


def _send_route_task(message_id: str) -> None:
    """Enqueue routing; a broker failure is logged: the outbox sweep routes the row later anyway."""
    from apps.instances.tasks import ENGINE_QUEUE, route_thrown_message  # noqa: PLC0415 - tasks imports the pipeline

    try:
        route_thrown_message.apply_async((message_id,), queue=ENGINE_QUEUE)
    except Exception:
        logger.exception("could not enqueue message routing; the sweep will route it", extra={"message_id": message_id})
