"""Celery tasks of the integrations: thin, ids in, one service call each, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from apps.integrations.services import call_run
from apps.integrations.sweeper import outbox_sweep


@shared_task(
    name="apps.integrations.tasks.run_outbound_call",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def run_outbound_call(call_id: int) -> str:
    """Run one attempt of an outbound call (sent on its system's queue, after the step committed).

    A redelivery is harmless: the claim is a conditional UPDATE, so a second delivery of a call that
    is running or done does nothing. Retries are not Celery retries: a failure sets the row's
    `next_attempt_at` and the outbox sweeper sends it again when due.
    """
    return call_run(call_id=call_id)


@shared_task(name="apps.integrations.tasks.sweep_outbox", ignore_result=True)
def sweep_outbox() -> dict[str, int]:
    """The outbox sweeper (Celery beat, about once a second). Overlapping runs are safe: SKIP LOCKED."""
    return outbox_sweep()
