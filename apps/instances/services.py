"""Writes of the runtime: start, cancel, suspend and resume instances, retry incidents.

Every change to an existing instance is a step of `apps.instances.pipeline.instance_step`, so it
holds the instance lock and lands in the audit trail. Timers fire in `apps.instances.timers_sweep`.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError

from apps.core.errors import ApiError, Conflict, NotFound
from apps.definitions.models import ProcessDefinition
from apps.definitions.selectors import definition_get_latest, definition_get_version
from apps.instances.commands import (
    CancelCommand,
    ResumeCommand,
    StartCommand,
    SuspendCommand,
    command_from_json,
)
from apps.instances.models import Incident, IncidentStatus, ProcessInstance
from apps.instances.pipeline import SYSTEM_ACTOR, instance_start_new, instance_step
from apps.instances.retry_hooks import retry_hook_for, run_retry_hook
from bpmn import StartTrigger

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)


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
    instance = ProcessInstance(
        definition=definition,
        process_key=definition.key,
        business_key=business_key,
        variables=variables,
        started_by=started_by,
    )
    try:
        # The step runs before the row exists and ends with its INSERT (`instance_start_new`).
        return instance_start_new(instance=instance, command=command, actor=_actor_name(started_by))
    except IntegrityError as exc:
        if business_key is None:
            raise  # only the business key is unique among the rows a start writes
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
