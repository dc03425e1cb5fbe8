"""Celery tasks of the integrations: thin, ids in, one service call each, safe to run twice."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.signals import task_prerun
from django.db import connections

from apps.integrations.services import call_run
from apps.integrations.sweeper import outbox_sweep


@task_prerun.connect(dispatch_uid="patchbay.drop_broken_db_connections")
def drop_broken_db_connections(**_: Any) -> None:
    """Before every task of the worker (not only these): close a database connection a failure broke.

    With `CELERY_DB_REUSE_MAX` Celery keeps connections across tasks and never runs Django's
    `close_old_connections()`. A connection the server dropped (restart, fail-over, network cut) while
    no transaction was open stays in place, closed, and every later query of that worker process
    fails with "connection already closed" until it is restarted. Django flags a connection whose
    query failed (`errors_occurred`); it is checked here once and closed if unusable, so the task
    reconnects. A healthy connection costs nothing (the flag is not set). Connected here because
    every worker imports this module (Celery autodiscovery); it applies to all tasks.
    """
    for connection in connections.all(initialized_only=True):
        if connection.connection is None or not connection.errors_occurred or connection.in_atomic_block:
            continue
        if connection.is_usable():
            connection.errors_occurred = False
        else:
            connection.close()


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
