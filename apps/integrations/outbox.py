"""The effect handler that turns a step's service calls into outbox rows (registered in `apps.py`).

It runs inside the step's transaction and under the instance lock: rows commit or roll back with the
step, and the Celery messages leave only after commit. It also cancels the calls a step made moot:
the calls of the service tasks that lost their token without an answer (an interrupting boundary
event, a cancel, a failed instance), as the engine reports them (`StepResult.calls_withdrawn`).
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from apps.core.rows import insert_rows
from apps.instances.models import FINISHED_STATUSES, ProcessInstance
from apps.integrations.dispatch import send_calls_on_commit
from apps.integrations.models import OPEN_STATUSES, CallStatus, OutboundCall
from apps.integrations.registry import system_of
from bpmn import StepResult


def idempotency_key(*, instance_id: object, call_id: str) -> str:
    """The key the remote system sees: the instance and the parked task, stable across retries."""
    return f"{instance_id}:{call_id}"


def outbox_effects(instance: ProcessInstance, result: StepResult) -> None:
    """Write one pending `OutboundCall` per requested call and send them after commit."""
    now = timezone.now()
    _cancel_moot_calls(instance, result, now)
    if not result.service_calls:
        return
    # Hand-built (`apps.core.rows`): `bulk_create` cost more CPU than the INSERT took to run.
    rows = [
        OutboundCall(
            instance=instance,
            call_id=call.id,
            activity_id=call.activity_id,
            operation=call.operation,
            system=system_of(call.operation),
            parameters=call.parameters,
            result_variable=call.result_variable,
            idempotency_key=idempotency_key(instance_id=instance.pk, call_id=call.id),
            next_attempt_at=now,
            enqueued_at=now,
        )
        for call in result.service_calls
    ]
    insert_rows(OutboundCall, rows, returning=True)
    send_calls_on_commit([(row.pk, row.system) for row in rows])


def _cancel_moot_calls(instance: ProcessInstance, result: StepResult, now: datetime) -> None:
    """Cancel the calls of the service tasks the step took the token from (the engine names them).

    Only those can be moot: a call is written when its task parks, and a parked task leaves only by
    its answer (the call is then no longer open) or by being withdrawn. A worker still running one
    finds it cancelled when it reports, and drops the result.
    """
    if not result.calls_withdrawn:
        return
    if result.status in FINISHED_STATUSES:
        reason = f"the instance is {result.status}"
    else:
        reason = "the service task is no longer waiting"
    OutboundCall.objects.filter(instance=instance, call_id__in=result.calls_withdrawn, status__in=OPEN_STATUSES).update(
        status=CallStatus.CANCELLED, finished_at=now, last_error=reason
    )
