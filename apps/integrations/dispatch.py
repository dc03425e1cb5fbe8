"""Sending outbound calls to the workers: one Celery message per call, on its system's queue.

Messages carry only the call's id. Sending is best effort: a broker that is down loses nothing, the
outbox sweeper re-sends pending calls whose message is older than the grace period.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from celery import current_app
from django.db import transaction

from apps.integrations import registry

logger = logging.getLogger(__name__)

RUN_CALL_TASK = "apps.integrations.tasks.run_outbound_call"


def queue_for(system: str) -> str:
    """The Celery queue of `system` (its connector's, or the system name for unknown systems)."""
    connector = registry.connectors().get(system)
    return connector.queue if connector is not None else system


def send_calls(calls: Iterable[tuple[int, str]]) -> int:
    """Send one `run_outbound_call` message per `(call pk, system)`; return how many were sent."""
    sent = 0
    for pk, system in calls:
        try:
            # By name: the task module imports the services, which send through here.
            current_app.send_task(RUN_CALL_TASK, args=(pk,), queue=queue_for(system))
        except Exception:  # the broker is down: the sweeper re-sends the call later
            logger.warning("could not send outbound call %s; the outbox sweeper will", pk, exc_info=True)
        else:
            sent += 1
    return sent


def send_calls_on_commit(calls: list[tuple[int, str]]) -> None:
    """Send the calls once the current transaction commits (never for a rolled-back step)."""
    if calls:
        transaction.on_commit(lambda: send_calls(calls))
