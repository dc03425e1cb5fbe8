"""Celery tasks of the SLA app: thin, ids in, one service call each, safe to run twice."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from apps.sla.delivery import MAX_ATTEMPTS, escalation_deliver
from apps.sla.sweep import sla_sweep

logger = logging.getLogger(__name__)


@shared_task(name="apps.sla.tasks.sweep_deadlines", ignore_result=True)
def sweep_deadlines() -> int:
    """The SLA sweep (Celery beat, every second): pauses, at-risk and breaches, stale escalations."""
    return sla_sweep()


@shared_task(bind=True, name="apps.sla.tasks.deliver_escalation", acks_late=True, ignore_result=True,
             max_retries=MAX_ATTEMPTS)
def deliver_escalation(self: Any, delivery_id: int) -> str:
    """Run one deferred escalation action (email, webhook, message); retried with back-off while pending.

    Idempotent: a row that is no longer pending (done, or another worker has it) is left alone.
    """
    status = escalation_deliver(delivery_id=delivery_id)
    if status == "pending":
        raise self.retry(countdown=min(2 ** (self.request.retries + 1), 30))
    return status
