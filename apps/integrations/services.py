"""Writes of the integrations: run an outbound call, apply its outcome, re-arm it, pause a system.

One attempt of a call is three short transactions with the connector call between them, outside
any transaction or lock:

1. *claim*: under the system lock, check pause / breaker / concurrency, then move the row
   pending|retrying -> running with a conditional UPDATE (two deliveries cannot both win);
2. *invoke* the connector (`apps.integrations.invoke`);
3. *record*: under the system lock, count the outcome on the breaker and move the row out of
   running (again conditionally: a call cancelled or taken over meanwhile drops the result);
4. *apply* a result or BPMN error in a new step of the instance (`call_apply`, idempotent through
   `applied_at`), or open an incident when the retries are spent.

A result or BPMN error that leaves the breaker as it is (the common case: a success on a closed
breaker) is recorded and applied in one transaction instead: instance lock, one conditional UPDATE of
the row that records the outcome and marks it applied, the step (`_record_and_apply`); otherwise, or
when the instance is busy or suspended, 3 and 4 run apart. A B1 instance's call costs 13 statements.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.core import prepared
from apps.core.errors import Conflict, NotFound
from apps.core.rows import select_row, update_where
from apps.instances.locking import lock_instance_bounded
from apps.instances.models import InstanceStatus, ProcessInstance
from apps.integrations import protection, registry
from apps.integrations.applying import apply_locked, call_apply, call_escalate, command_for_outcome
from apps.integrations.invoke import Outcome, invoke
from apps.integrations.models import CallStatus, ExternalSystem, OutboundCall

logger = logging.getLogger(__name__)

CLAIMABLE = (CallStatus.PENDING, CallStatus.RETRYING)
# A call of a suspended instance is not started; it looks again this much later.
SUSPENDED_RECHECK_SECONDS = 10.0
DEFAULT_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Claim:
    """A call this worker moved to `running` (attempt `call.attempts`), and its operation.

    `breaker_quiet`: at the claim, under the system lock, the breaker was closed with no failure
    counted - a success then changes nothing on it (`_record_and_apply` needs no system lock).
    """

    call: OutboundCall
    operation: registry.Operation | None
    breaker_quiet: bool = False


def call_run(*, call_id: int, now: datetime | None = None) -> str:
    """Run one attempt of an outbound call and carry out its outcome; return what happened.

    Safe to run twice for the same call (at-least-once delivery): only one claim wins, and a call
    that is not due, not open, paused, refused by the breaker or over the concurrency limit is left
    (or rescheduled) without calling the connector.
    """
    claim = call_claim(call_id=call_id, now=now)
    if isinstance(claim, str):
        return claim
    return call_record(claim=claim, outcome=invoke(claim.call, claim.operation))


def call_claim(*, call_id: int, now: datetime | None = None) -> Claim | str:
    """Move a due call to `running` if its system admits it; else the reason it did not run.

    The common case is three statements: read the call, lock the system row, and one conditional
    UPDATE that also checks the instance is not suspended and the system's running calls are under
    its limit (counted under the system lock, so two claims cannot both take the last slot). Only
    when that UPDATE takes nothing are the reasons looked at one by one.
    """
    now = now or timezone.now()
    call = select_row(OutboundCall, "id", call_id)
    if call is None or call.status not in CLAIMABLE:
        return "not_open"
    if call.next_attempt_at > now:
        return "not_due"
    operation = registry.operation_get(call.operation)
    lease_until = now + timedelta(
        seconds=(operation.timeout if operation else DEFAULT_TIMEOUT_SECONDS)
        + settings.PATCHBAY_OUTBOX_RUNNING_GRACE_SECONDS
    )
    with transaction.atomic():
        system = protection.system_lock(call.system)
        admission = protection.admit(system, call_pk=call.pk, now=now, lease_until=lease_until)
        if not admission.allowed:
            return _reschedule(call, admission.reason, admission.retry_at)
        claimed = _claim_update(call, system, now=now, lease_until=lease_until)
        if not claimed:
            transaction.set_rollback(True)  # undo the probe bookkeeping too
    if not claimed:
        return _not_claimed(call, now)
    # What the UPDATE wrote (no re-read: a claimable row changes only its status or attempts, which
    # the UPDATE matched, and its send times, which nothing after the claim reads).
    call.status, call.attempts = CallStatus.RUNNING, call.attempts + 1
    call.started_at, call.lease_until = now, lease_until
    return Claim(call=call, operation=operation, breaker_quiet=protection.breaker_quiet(system))


def _claim_update(call: OutboundCall, system: ExternalSystem, *, now: datetime, lease_until: datetime) -> int:
    """The conditional UPDATE that takes the call (hand-written: see `apps.core.rows`)."""
    ops = connection.ops
    with connection.cursor() as cursor:
        prepared.execute(cursor, _claim_sql(connection.vendor), [
            CallStatus.RUNNING, ops.adapt_datetimefield_value(now), ops.adapt_datetimefield_value(lease_until),
            call.pk, call.status, call.attempts,
            InstanceStatus.SUSPENDED,
            system.name, CallStatus.RUNNING, system.max_concurrency,
        ])
        return int(cursor.rowcount)


@cache
def _claim_sql(vendor: str) -> str:
    """Take the call if it is as we read it, its instance is not suspended and its system runs fewer
    calls than its limit (counted under the system lock the caller holds, so the count is exact)."""
    del vendor  # part of the cache key: quoting differs per database
    qn = connection.ops.quote_name
    calls, instances = qn(OutboundCall._meta.db_table), qn(ProcessInstance._meta.db_table)
    # Names come from model metadata; values are bound parameters.
    return (
        f"UPDATE {calls} SET status = %s, attempts = attempts + 1, started_at = %s, lease_until = %s"  # noqa: S608
        f" WHERE id = %s AND status = %s AND attempts = %s"
        f" AND NOT EXISTS (SELECT 1 FROM {instances} i WHERE i.id = {calls}.instance_id AND i.status = %s)"
        f" AND (SELECT COUNT(*) FROM {calls} r WHERE r.system = %s AND r.status = %s) < %s"
    )


def _not_claimed(call: OutboundCall, now: datetime) -> str:
    """Why the claim's UPDATE took nothing: the instance is suspended, the system is at its limit, or
    another delivery won (the call is no longer as we read it)."""
    if _instance_status(call) == InstanceStatus.SUSPENDED:
        return _reschedule(call, "instance_suspended", now + timedelta(seconds=SUSPENDED_RECHECK_SECONDS))
    system = protection.system_get_or_create(call.system)
    if OutboundCall.objects.filter(system=call.system, status=CallStatus.RUNNING).count() >= system.max_concurrency:
        return _reschedule(call, "concurrency_limit", protection.busy_retry_at(now))
    return "not_open"


def _instance_status(call: OutboundCall) -> str:
    return str(ProcessInstance.objects.filter(pk=call.instance_id).values_list("status", flat=True).first())


def _reschedule(call: OutboundCall, reason: str, retry_at: datetime | None) -> str:
    """Leave the call waiting (not an attempt); `retry_at` None keeps its time (a paused system)."""
    if retry_at is not None:
        OutboundCall.objects.filter(pk=call.pk, status=call.status).update(next_attempt_at=retry_at)
    return reason


def call_record(*, claim: Claim, outcome: Outcome, now: datetime | None = None) -> str:
    """Record an attempt's outcome, then apply it, schedule the retry or open the incident."""
    now = now or timezone.now()
    call = claim.call
    fields, verdict = _outcome_fields(claim, outcome, now)
    if verdict == "apply":
        done = _record_and_apply(claim, outcome, fields)
        if done is not None:
            return done
    with transaction.atomic():
        system = protection.system_lock(call.system)
        protection.breaker_record(system, system_ok=outcome.system_ok, now=now)
        recorded = OutboundCall.objects.filter(pk=call.pk, status=CallStatus.RUNNING, attempts=call.attempts).update(
            **fields
        )
    if not recorded:
        logger.info("outcome of call %s dropped: cancelled or taken over meanwhile", call.pk)
        return "dropped"
    if verdict == "apply":
        call_apply(call_id=call.pk)
        return outcome.kind
    if verdict == "escalate":
        call_escalate(call_id=call.pk)
        return "incident"
    return "retry_scheduled"


def _record_and_apply(claim: Claim, outcome: Outcome, fields: dict[str, Any]) -> str | None:
    """The common case in one transaction: lock the instance, record the outcome, apply it.

    Only when the outcome leaves the breaker as it is (no system lock needed) and the instance can
    take it now (not suspended). One conditional UPDATE records the outcome and marks it applied,
    then the step runs on the instance we locked, so a result is never applied twice (`applied_at`).
    None: not taken (the breaker must count it, or the instance is busy, suspended, finished or gone
    and nothing was written) - the caller records and applies in two transactions.
    """
    call = claim.call
    if not protection.breaker_unchanged_by(quiet=claim.breaker_quiet, system_ok=outcome.system_ok):
        return None
    command = command_for_outcome(call, outcome)
    try:
        with transaction.atomic():
            instance = lock_instance_bounded(call.instance_id)
            if instance.status == InstanceStatus.SUSPENDED or instance.is_finished:
                return None
            # Hand-built (`apps.core.rows`): the ORM compiled this UPDATE for longer than it ran.
            recorded = update_where(OutboundCall, {**fields, "applied_at": timezone.now()}, id=call.pk,
                                    status=CallStatus.RUNNING, attempts=call.attempts, applied_at=None)
            if recorded:
                apply_locked(call, command, instance)
    except (Conflict, NotFound) as exc:
        logger.info("outcome of call %s recorded apart: %s", call.pk, exc.code)
        return None
    if not recorded:
        logger.info("outcome of call %s dropped: cancelled or taken over meanwhile", call.pk)
        return "dropped"
    return outcome.kind


def _outcome_fields(claim: Claim, outcome: Outcome, now: datetime) -> tuple[dict[str, Any], str]:
    """The row's new fields for `outcome`, and what follows: apply, retry or escalate."""
    done = {"lease_until": None, "finished_at": now}
    if outcome.kind == "result":
        return {**done, "status": CallStatus.SUCCEEDED, "result": outcome.result, "last_error": ""}, "apply"
    if outcome.kind == "bpmn_error":
        fields = {**done, "status": CallStatus.FAILED, "error_code": outcome.error_code, "last_error": outcome.message}
        return fields, "apply"
    policy = claim.operation.retry if claim.operation else None
    if outcome.kind == "retryable" and policy is not None and not policy.exhausted(claim.call.attempts):
        retry_at = now + timedelta(seconds=policy.delay(claim.call.attempts))
        fields = {"status": CallStatus.RETRYING, "next_attempt_at": retry_at, "lease_until": None}
        return {**fields, "last_error": outcome.message}, "retry"
    return {**done, "status": CallStatus.FAILED, "last_error": outcome.message}, "escalate"
