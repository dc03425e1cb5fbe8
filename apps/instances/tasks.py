"""Celery tasks of the runtime: thin, ids in, one service call each, safe to run twice."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import shared_task
from django.db import transaction

from apps.core.errors import Conflict, NotFound
from apps.instances.commands import Command, command_from_json
from apps.instances.messaging import outbound_message_route, outbound_messages_route_pending
from apps.instances.pipeline import SYSTEM_ACTOR, instance_step
from apps.instances.services import timers_fire_due
from apps.instances.signals import outbound_signals_route_pending
from apps.instances.start_timers import start_timers_fire_due

logger = logging.getLogger(__name__)

# A busy instance is retried with growing back-off; after this many tries the command is dropped
# with an error log (the instance is being stepped continuously, which is itself worth a look).
BUSY_MAX_RETRIES = 8
# Steps run on the `engine` queue (also the default queue in settings); named here rather than on the
# task because Celery 5 deprecates the task-level `queue` attribute.
ENGINE_QUEUE = "engine"


# Thrown messages still pending this long after their step are routed by the sweep (broker trouble).
PENDING_MESSAGE_GRACE = timedelta(seconds=30)


@shared_task(name="apps.instances.tasks.fire_due_timers", ignore_result=True)
def fire_due_timers() -> int:
    """The sweep (Celery beat, about once a second): instance timers, start timers, stuck messages.

    Returns how many instances it stepped or started. Overlapping runs are safe (SKIP LOCKED, unique
    firing rows); one part failing does not stop the others.
    """
    done = 0
    for sweep in (timers_fire_due, start_timers_fire_due, _route_pending_messages, _route_pending_signals):
        try:
            done += sweep()
        except Exception:
            logger.exception("sweep failed: %s", sweep.__name__)
    return done


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
