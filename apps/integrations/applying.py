"""Carrying a call's outcome into its instance: apply a result / BPMN error, or open an incident.

Both run after the outcome was recorded, each in a transaction that takes the instance lock first
(the lock order of every step: instance, then outbox rows) - the worker applies a result in the
transaction that records it (`services.call_record`), the sweeper in its own - and both are
idempotent, so the worker and the outbox sweeper may both try.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.core.errors import Conflict
from apps.instances.commands import Command, FailServiceTaskCommand, ResumeServiceTaskCommand
from apps.instances.incidents import incident_open, incident_resolve, incident_retry_failed
from apps.instances.locking import lock_instance_bounded
from apps.instances.models import ProcessInstance
from apps.instances.pipeline import SYSTEM_ACTOR, instance_step
from apps.integrations.invoke import Outcome
from apps.integrations.models import CallStatus, OutboundCall

logger = logging.getLogger(__name__)

INCIDENT_KIND = "service_call_failed"
RETRY_KIND = "retry_service_call"
# Conflicts after which the outcome can wait and be applied later; every other one means "moot".
_LATER = frozenset({"instance_busy", "instance_suspended"})


def _command_for(call: OutboundCall) -> Command | None:
    """The step for the outcome recorded on the row, or None when it is not one a step applies."""
    if call.status == CallStatus.SUCCEEDED:
        return command_for_outcome(call, Outcome("result", result=call.result))
    if call.status == CallStatus.FAILED and call.error_code:
        return command_for_outcome(call, Outcome("bpmn_error", error_code=call.error_code, message=call.last_error))
    return None


def command_for_outcome(call: OutboundCall, outcome: Outcome) -> Command:
    """The step that carries a result or BPMN error into the instance (recorded or about to be)."""
    if outcome.kind == "result":
        return ResumeServiceTaskCommand(call_id=call.call_id, result=outcome.result)
    return FailServiceTaskCommand(call_id=call.call_id, error_code=outcome.error_code, message=outcome.message)


def call_apply(*, call_id: int, locked: ProcessInstance | None = None) -> str:
    """Apply a recorded result / BPMN error to the instance in a new step, at most once.

    Returns `applied`, `moot` (the task is no longer parked or the instance finished: nothing to do,
    marked applied), `already_applied`, or `deferred` (the instance is busy or suspended: the
    outbox sweeper tries again). A step that fails inside the engine opens its own incident (its
    retry re-applies the result) and also counts as applied.

    `locked` is the call's instance as a caller that holds its row lock in the current transaction
    loaded it (`lock_instance_bounded`): the apply neither looks the instance up nor locks it again.
    """
    if locked is not None:
        instance_id: Any = locked.pk
    else:
        instance_id = OutboundCall.objects.filter(pk=call_id).values_list("instance_id", flat=True).first()
        if instance_id is None:
            return "already_applied"
    try:
        return _apply_locked(call_id, instance_id, locked)
    except Conflict as exc:
        if exc.code not in _LATER:
            raise
        logger.info("outcome of call %s deferred: %s", call_id, exc.code, extra={"instance_id": str(instance_id)})
        return "deferred"


def _apply_locked(call_id: int, instance_id: Any, locked: ProcessInstance | None = None) -> str:
    # With `locked` the caller's transaction is the one (no savepoint: nothing is written before a
    # Conflict that defers, and the step rolls back its own savepoint).
    with transaction.atomic() if locked is None else nullcontext():
        instance = locked if locked is not None else lock_instance_bounded(instance_id)
        call = OutboundCall.objects.select_for_update().get(pk=call_id)
        command = _command_for(call)
        if call.applied_at is not None or command is None:
            return "already_applied"
        call.applied_at = timezone.now()
        verdict = apply_locked(call, command, instance)
        call.save(update_fields=["applied_at"])
        return verdict


def apply_locked(call: OutboundCall, command: Command, instance: ProcessInstance) -> str:
    """Run the step that applies `call`'s outcome on `instance`, locked by the caller's transaction.

    Returns `applied`, or `moot` when the step no longer applies (the task is not parked any more,
    the instance finished). Raises `Conflict` for `instance_busy` / `instance_suspended`: the outcome
    must wait, and the caller must leave the call unapplied (the transaction rolls back).
    """
    verdict = "applied"
    try:
        # Nested in this transaction; it works on the instance we locked instead of re-reading it.
        instance_step(instance_id=instance.pk, command=command, actor=SYSTEM_ACTOR, locked=instance)
    except Conflict as exc:
        if exc.code in _LATER:
            raise
        verdict = "moot"
    if call.incident_id is not None:
        # The re-armed call got its answer: the incident that was waiting on it is over.
        incident_resolve(incident_id=call.incident_id, reason="service_call_answered")
    return verdict


def call_escalate(*, call_id: int) -> str:
    """Open an incident for a call whose retries are spent, or count them on its existing one.

    The incident's command `{"kind": "retry_service_call", "call_id": ...}` is what
    `POST /incidents/{id}/retry/` runs (`apps.integrations.retry.call_retry_from_incident`). Runs
    under the instance lock and marks the row `escalated`, so the worker and the sweeper cannot
    both open one. Returns `incident`, `counted` (on the re-armed call's open incident) or `moot`.
    """
    instance_id = OutboundCall.objects.filter(pk=call_id).values_list("instance_id", flat=True).first()
    if instance_id is None:
        return "moot"
    with transaction.atomic():
        instance = lock_instance_bounded(instance_id)
        call = OutboundCall.objects.select_for_update().filter(pk=call_id).first()
        if call is None or call.status != CallStatus.FAILED or call.error_code or call.escalated:
            return "moot"
        if instance.is_finished:
            call.status = CallStatus.CANCELLED
            call.save(update_fields=["status"])
            return "moot"
        verdict = _open_or_count(call)
        call.escalated = True
        call.save(update_fields=["incident_id", "escalated"])
        return verdict


def _open_or_count(call: OutboundCall) -> str:
    message = f"{call.operation} failed after {call.attempts} attempt(s): {call.last_error}"
    if call.incident_id is not None and incident_retry_failed(
        incident_id=call.incident_id, message=message, attempts=call.attempts
    ):
        return "counted"
    incident = incident_open(
        instance_id=call.instance_id,
        kind=INCIDENT_KIND,
        message=message,
        activity_id=call.activity_id,
        command={"kind": RETRY_KIND, "call_id": call.pk},
        attempts=call.attempts,
    )
    call.incident_id = incident.pk
    return "incident"
