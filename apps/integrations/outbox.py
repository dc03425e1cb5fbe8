"""The effect handler that turns a step's service calls into outbox rows (registered in `apps.py`).

It runs inside the step's transaction and under the instance lock: rows commit or roll back with the
step, and the Celery messages leave only after commit. It also cancels the calls a step made moot:
every open call of a finished instance, and open calls whose activity no longer holds a token (an
interrupting boundary event took the task away).
"""

from __future__ import annotations

from django.utils import timezone

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
    if not _is_start(result):
        _cancel_moot_calls(instance, result)
    if not result.service_calls:
        return
    rows = OutboundCall.objects.bulk_create(
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
    )
    send_calls_on_commit([(row.pk, row.system) for row in rows])


def _is_start(result: StepResult) -> bool:
    """The step that started the instance: no earlier step wrote an outbox row that could be moot."""
    return any(event.type == "instance.started" for event in result.audit)


def _cancel_moot_calls(instance: ProcessInstance, result: StepResult) -> None:
    open_calls = OutboundCall.objects.filter(instance=instance, status__in=OPEN_STATUSES)
    if result.status not in FINISHED_STATUSES:
        open_calls = open_calls.exclude(activity_id__in=result.active_activities)
        reason = "the service task is no longer waiting"
    else:
        reason = f"the instance is {result.status}"
    # A worker still running one finds it cancelled when it reports, and drops the result.
    open_calls.update(status=CallStatus.CANCELLED, finished_at=timezone.now(), last_error=reason)
