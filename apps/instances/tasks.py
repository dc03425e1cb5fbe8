"""Celery tasks of the runtime: thin, ids in, one service call each, safe to run twice."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from apps.core.errors import Conflict, NotFound
from apps.instances.commands import Command, command_from_json
from apps.instances.messaging import outbound_message_route, outbound_messages_route_pending
from apps.instances.pipeline import SYSTEM_ACTOR, instance_step
from apps.instances.signals import outbound_signals_route_pending
from apps.instances.start_timers import start_timers_fire_due
from apps.instances.timers_sweep import TimerBatch, timers_dispatch_due, timers_fire_batch

logger = logging.getLogger(__name__)

# A busy instance is retried with growing back-off; after this many tries the command is dropped
# with an error log (the instance is being stepped continuously, which is itself worth a look).
BUSY_MAX_RETRIES = 8
# Steps run on the `engine` queue (also the default queue in settings); named here rather than on the
# task because Celery 5 deprecates the task-level `queue` attribute.
ENGINE_QUEUE = "engine"


# Thrown messages still pending this long after their step are routed by the sweep (broker trouble).
PENDING_MESSAGE_GRACE = timedelta(seconds=30)
# A timer batch whose instances were busy (another step held the row) or not due yet is sent again
# this many times, after 0.25, 0.5, 1 ... s; after that the claim's lease brings them back.
TIMER_BATCH_RETRIES = 5
# A batch delivered this early (clock drift between hosts, eta rounding) waits in the worker instead
# of skipping its instances; an earlier one is sent again with the right eta.
TIMER_EARLY_WAIT = timedelta(seconds=1)


@shared_task(name="apps.instances.tasks.fire_due_timers", ignore_result=True)
def fire_due_timers() -> int:
    """Instance timers (Celery beat, every second): claim those due within the lookahead and send
    them to the pool in batches (`fire_timer_batch`, with eta). Returns how many were claimed.

    Overlapping runs claim disjoint instances; see `apps.instances.timers_sweep`.
    """
    return timers_dispatch_due(send=_send_timer_batch)


def _send_timer_batch(batch: TimerBatch, attempt: int = 0, countdown: float | None = None) -> None:
    eta = batch.fire_at if countdown is None and batch.fire_at > timezone.now() else None
    fire_timer_batch.apply_async(
        (batch.instance_ids, batch.fire_at.isoformat(), attempt), eta=eta, countdown=countdown, queue=ENGINE_QUEUE
    )


@shared_task(name="apps.instances.tasks.fire_timer_batch", acks_late=True, ignore_result=True)
def fire_timer_batch(instance_ids: list[str], fire_at: str, attempt: int = 0) -> int:
    """Fire the timers of a batch the sweep claimed, not before `fire_at`; return how many were not
    held by another step (fired, or no longer due).

    Idempotent: an instance fired already (or re-armed, cancelled, finished) is not due and is left
    alone. Instances another step held are sent again a few times with back-off, then left to the
    claim's lease.
    """
    due = datetime.fromisoformat(fire_at)
    early = due - timezone.now()
    if early > TIMER_EARLY_WAIT and attempt < TIMER_BATCH_RETRIES:
        _send_timer_batch(TimerBatch(instance_ids, due), attempt + 1)
        return 0
    if timedelta(0) < early <= TIMER_EARLY_WAIT:
        time.sleep(early.total_seconds())
    skipped = timers_fire_batch(instance_ids=instance_ids)
    if skipped and attempt < TIMER_BATCH_RETRIES:
        _send_timer_batch(TimerBatch(skipped, due), attempt + 1, countdown=0.25 * 2**attempt)
    return len(instance_ids) - len(skipped)


@shared_task(name="apps.instances.tasks.fire_start_timers", ignore_result=True)
def fire_start_timers() -> int:
    """Start timers (Celery beat, every second): start the instances of due occurrences.

    Its own task, so a backlog of instance timers cannot hold it up (nor it them).
    """
    return start_timers_fire_due()


@shared_task(name="apps.instances.tasks.route_pending_messages", ignore_result=True)
def route_pending_messages() -> int:
    """Backstop (Celery beat): route thrown messages and signals still pending after the grace time
    (the broker was down when their step committed). Returns how many were routed."""
    routed = 0
    for sweep in (_route_pending_messages, _route_pending_signals):
        try:
            routed += sweep()
        except Exception:
            logger.exception("sweep failed: %s", sweep.__name__)
    return routed


def _route_pending_messages() -> int:
    return outbound_messages_route_pending(older_than=PENDING_MESSAGE_GRACE)


def _route_pending_signals() -> int:
    # Signals thrown while the broker was down are routed from their outbox rows, like messages.
    return outbound_signals_route_pending(older_than=PENDING_MESSAGE_GRACE)


@shared_task(
    bind=True,
    name="apps.instances.tasks.route_thrown_message",
    acks_late=True,
    ignore_result=True,
    max_retries=BUSY_MAX_RETRIES,
)
def route_thrown_message(self: Any, message_id: str) -> None:
    """Route a message an instance threw (outbox row id). Idempotent: a routed row is left alone."""
    try:
        outbound_message_route(message_id=message_id)
    except Conflict as exc:
        if exc.code == "instance_busy":
            raise self.retry(exc=exc, countdown=min(2**self.request.retries, 30)) from exc
        # e.g. a duplicate business key: the message stays pending; the sweep logs each attempt.
        logger.warning("thrown message not routed: %s", exc.code, extra={"message_id": message_id})


@shared_task(
    bind=True,
    name="apps.instances.tasks.step_instance",
    acks_late=True,
    ignore_result=True,
    max_retries=BUSY_MAX_RETRIES,
)
def step_instance(self: Any, instance_id: str, command_json: dict[str, Any]) -> None:
    """Apply one command to one instance asynchronously.

    Idempotent: a redelivered command that no longer applies (the task already completed, the instance
    finished) is rejected by the pipeline with a 409 and dropped here; a failing step leaves an
    incident. Only `instance_busy` is retried.
    """
    command = command_from_json(command_json)
    try:
        instance_step(instance_id=instance_id, command=command, actor=SYSTEM_ACTOR)
    except Conflict as exc:
        if exc.code == "instance_busy":
            raise self.retry(exc=exc, countdown=min(2**self.request.retries, 30)) from exc
        logger.info("command no longer applies: %s (%s)", exc.code, command.kind, extra={"instance_id": instance_id})
    except NotFound:
        logger.warning("command for an unknown instance dropped", extra={"instance_id": instance_id})


def enqueue_step(*, instance_id: str, command: Command) -> None:
    """Send `command` to a worker once the current transaction commits (never before: the worker
    must see what this transaction wrote, and a rollback must not leave a stray command)."""
    payload = command.to_json()
    transaction.on_commit(lambda: step_instance.apply_async((instance_id, payload), queue=ENGINE_QUEUE))
