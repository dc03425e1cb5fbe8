"""Writes of the runtime: start, cancel, suspend and resume instances, retry incidents, fire timers.

Every change to an existing instance is a step of `apps.instances.pipeline.instance_step`, so it
holds the instance lock and lands in the audit trail.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.errors import ApiError, Conflict, NotFound
from apps.core.metrics import TIMER_LATENESS_SECONDS
from apps.definitions.models import ProcessDefinition
from apps.definitions.selectors import definition_get_latest, definition_get_version
from apps.instances.commands import (
    CancelCommand,
    FireTimersCommand,
    ResumeCommand,
    StartCommand,
    SuspendCommand,
    command_from_json,
)
from apps.instances.locking import bound_lock_wait, lock_instance_skip_locked
from apps.instances.models import Incident, IncidentStatus, InstanceStatus, ProcessInstance
from apps.instances.pipeline import SYSTEM_ACTOR, instance_step
from apps.instances.retry_hooks import retry_hook_for, run_retry_hook
from bpmn import StartTrigger

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

# Statuses whose timers the sweep fires: a suspended instance keeps `next_timer_at` and its due
# timers fire after it is resumed; a finished one has none.
TIMER_STATUSES = (InstanceStatus.WAITING, InstanceStatus.RUNNING)


def _actor_name(user: User | None) -> str:
    return user.get_username() if user is not None else SYSTEM_ACTOR


def _definition_for(process_key: str, version: int | None) -> ProcessDefinition:
    try:
        if version is None:
            return definition_get_latest(key=process_key)
        return definition_get_version(key=process_key, version=version)
    except NotFound as exc:
        # A bad reference in the request body is a 400 naming the field, not a missing URL.
        field = "process_key" if version is None else "version"
        raise ApiError(
            exc.message,
            code="unknown_process",
            details=[{"field": field, "code": "unknown_process", "message": exc.message}],
        ) from exc


def instance_start(
    *,
    process_key: str,
    version: int | None = None,
    business_key: str | None = None,
    variables: dict[str, Any] | None = None,
    started_by: User | None,
    trigger: StartTrigger | None = None,
) -> ProcessInstance:
    """Start an instance of the latest (or the given) version of `process_key` and run its first step.

    Starts are idempotent by business key: while an instance with the same `process_key` and
    `business_key` is unfinished, another start raises `Conflict` (`duplicate_business_key`) - the
    database's partial unique constraint decides, so concurrent starts cannot both win. An unknown
    key or version raises `ApiError` (400, `unknown_process`). When the first step fails the
    instance stays `running` with an open incident whose retry re-runs the start. `trigger` names
    the timer or message start event that fired (the start-timer sweep and the message router).
    """
    definition = _definition_for(process_key, version)
    variables = dict(variables or {})
    command = StartCommand(variables=variables, trigger=asdict(trigger) if trigger is not None else None)
    # One transaction: the new row (no one else sees it, so this transaction holds it as if locked)
    # and its first step, which works on it as created instead of locking and reading it again.
    with transaction.atomic():
        try:
            instance = ProcessInstance.objects.create(
                definition=definition,
                process_key=definition.key,
                business_key=business_key,
                variables=variables,
                started_by=started_by,
            )
        except IntegrityError as exc:
            raise Conflict(
                f"An unfinished instance of {process_key!r} with business key {business_key!r} exists.",
                code="duplicate_business_key",
                details=[
                    {
                        "field": "business_key",
                        "code": "duplicate_business_key",
                        "message": "already used by an unfinished instance",
                    }
                ],
            ) from exc
        bound_lock_wait()  # from here on, as in every step (the insert waited as long as it took before)
        return instance_step(instance_id=instance.pk, command=command, actor=_actor_name(started_by), locked=instance)


def instance_cancel(*, instance: ProcessInstance, actor: User | None) -> ProcessInstance:
    """Cancel an unfinished instance (also a suspended one); its open incidents are resolved."""
    return instance_step(instance_id=instance.pk, command=CancelCommand(), actor=_actor_name(actor))


def instance_suspend(*, instance: ProcessInstance, actor: User | None) -> ProcessInstance:
    """Suspend an unfinished instance: until resumed, only cancel applies and its timers wait."""
    return instance_step(instance_id=instance.pk, command=SuspendCommand(), actor=_actor_name(actor))


def instance_resume(*, instance: ProcessInstance, actor: User | None) -> ProcessInstance:
    """Resume a suspended instance: its status goes back to what it was; due timers fire next sweep."""
    return instance_step(instance_id=instance.pk, command=ResumeCommand(), actor=_actor_name(actor))


def incident_retry(*, incident_id: int, actor: User | None, variables: dict[str, Any] | None = None) -> Incident:
    """Run the failed step of an open incident again and return the incident as it then stands.

    `variables`, when given, are merged into the variables the failed command carried (start,
    complete a work item, deliver a message): the way to fix bad input before trying again. Success
    resolves the incident (`incident.resolved`) in the step's own transaction; another failure counts
    an attempt on it (`incident.retry_failed`). An incident without a command (one the engine
    reported, such as an uncaught BPMN error) cannot be retried: `Conflict` (`incident_not_retryable`).
    """
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        raise NotFound(f"Incident {incident_id} does not exist.")
    if incident.status != IncidentStatus.OPEN:
        raise Conflict("The incident is already resolved.", code="incident_resolved")
    if incident.command is None:
        raise Conflict("This incident has no step to run again.", code="incident_not_retryable")
    hook = retry_hook_for(str(incident.command.get("kind")))
    if hook is not None:
        # Not an engine step (e.g. a spent outbound call): the app that opened it knows how to retry.
        return run_retry_hook(hook, incident=incident, actor=actor, variables=variables)
    command_json = _with_variables(dict(incident.command), variables)
    command = command_from_json(command_json)
    instance_step(instance_id=incident.instance_id, command=command, actor=_actor_name(actor), incident_id=incident.pk)
    if variables:
        # Later retries run the corrected command, not the original one.
        Incident.objects.filter(pk=incident.pk, status=IncidentStatus.OPEN).update(command=command.to_json())
    incident.refresh_from_db()
    return incident


def _with_variables(command_json: dict[str, Any], variables: dict[str, Any] | None) -> dict[str, Any]:
    """The stored command with `variables` merged into its own; a 400 if it carries none."""
    if not variables:
        return command_json
    if not isinstance(command_json.get("variables"), dict):
        message = f"a {command_json.get('kind')} step takes no variables"
        raise ApiError(
            "The failed step takes no variables.",
            code="variables_not_applicable",
            details=[{"field": "variables", "code": "variables_not_applicable", "message": message}],
        )
    return {**command_json, "variables": {**command_json["variables"], **variables}}


def _due_condition(now: datetime) -> Q:
    return Q(next_timer_at__lte=now, status__in=TIMER_STATUSES)


def timers_fire_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Step every instance with a due timer (`fire_timers`) and return how many were stepped.

    Due instances are taken in `next_timer_at` order, at most `limit` per call. Each one gets its own
    transaction: the row is locked with `SKIP LOCKED` and re-checked (still due, still waiting or
    running) under the lock before it is stepped. Concurrency guarantee: any number of sweeps may run
    at once (beat on several workers, or a slow sweep overlapping the next); each due instance is
    stepped by exactly one of them, and one that a user's step holds is left for the next sweep
    rather than waited for. A failing instance is logged (its step opened an incident) and the sweep
    goes on.
    """
    now = now or timezone.now()
    due_ids = list(
        ProcessInstance.objects.filter(_due_condition(now))
        .order_by("next_timer_at")
        .values_list("pk", flat=True)[:limit]
    )
    fired = 0
    for instance_id in due_ids:
        try:
            fired += _fire_one(instance_id, now)
        except Exception:
            logger.exception("timer sweep could not step an instance", extra={"instance_id": str(instance_id)})
    return fired


def _fire_one(instance_id: uuid.UUID, now: datetime) -> bool:
    with transaction.atomic():
        locked = lock_instance_skip_locked(instance_id, condition=_due_condition(now))
        if locked is None:
            return False  # another step holds it, or it is no longer due
        if locked.next_timer_at is not None:
            TIMER_LATENESS_SECONDS.observe(max((timezone.now() - locked.next_timer_at).total_seconds(), 0.0))
        # Nested in this transaction; it works on the instance we locked instead of re-reading it.
        instance_step(instance_id=instance_id, command=FireTimersCommand(), actor=SYSTEM_ACTOR, now=now, locked=locked)
        return True
