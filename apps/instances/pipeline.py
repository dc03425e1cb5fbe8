"""The step pipeline: every change to an instance is one step in one database transaction.

1. lock the instance row (bounded wait, `apps.instances.locking`);
2. load its model source (cached per process) and snapshot;
3. apply one command through the engine facade (`apps.instances.commands`);
4./5. the engine runs until every token waits and returns a `StepResult` with the effects;
6. save the row with `update_fields`, append the audit events with consecutive `seq`, open incidents
   the engine reported, replace the instance's message subscriptions and put thrown messages in the
   outbox (`apps.instances.subscriptions`), and let the registered effect handlers write their rows.
   Celery tasks are enqueued only through `transaction.on_commit`.

An exception from the engine (or from an effect handler) rolls the whole step back: the instance stays
exactly as it was, and a second transaction records an `Incident` holding the command, so a retry can
run it again. `bpmn.CommandRejected` becomes a 409 and changes nothing.
"""

from __future__ import annotations

import copy
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import DatabaseError, OperationalError, transaction
from django.utils import timezone

import bpmn
from apps.core.errors import ApiError, Conflict
from apps.core.logging import bind_log_context, log_context
from apps.core.metrics import STEP_SECONDS
from apps.core.rows import insert_rows, update_row
from apps.instances.commands import (
    CancelCommand,
    Command,
    EngineCommand,
    FireTimersCommand,
    LifecycleCommand,
    ResumeCommand,
    StartCommand,
    StepContext,
)
from apps.instances.effects import run_effect_handlers
from apps.instances.locking import lock_instance_bounded, raise_if_busy
from apps.instances.models import FINISHED_STATUSES, Incident, InstanceStatus, ProcessInstance
from apps.instances.runtime import get_engine, model_source_for
from apps.instances.signals import step_signals_record
from apps.instances.subscriptions import step_messages_record
from apps.instances.trail import (
    EventDraft,
    append_events,
    close_open_incidents,
    incidents_known_empty,
    open_incident,
    resolve_incident,
)

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = "system"
_ENDINGS = frozenset({"instance.completed", "instance.failed", "instance.cancelled"})


@dataclass
class _Change:
    update_fields: list[str]
    events: list[EventDraft]
    result: bpmn.StepResult | None = None


@dataclass
class _Failure:
    kind: str
    message: str
    activity_id: str = ""


def instance_step(
    *,
    instance_id: uuid.UUID | str,
    command: Command,
    actor: str,
    incident_id: int | None = None,
    now: datetime | None = None,
    locked: ProcessInstance | None = None,
    events_before: Sequence[EventDraft] = (),
) -> ProcessInstance:
    """Apply one command to one instance as a single step and return the instance as saved.

    `actor` is the username recorded on the audit events (`system` for sweeps and workers). With
    `incident_id` the step is a retry of that incident: success resolves it in the same transaction,
    failure counts another attempt on it instead of opening a new one. `now` is the step's clock
    (defaults to the current time; the timer sweep passes its own).

    Raises `NotFound` for an unknown instance, and `Conflict` (409) when the instance is busy
    (`instance_busy`), suspended (`instance_suspended`), finished (`instance_finished`), or when the
    engine rejects the command (its own code). A failing step does not raise: it returns the
    unchanged instance, which now has an open incident.

    `locked` is the instance as a caller that already holds its row lock in the current transaction
    loaded it (`lock_instance_bounded`, with nothing changed since but what it saved): the step works
    on a copy of it instead of locking and reading the row again (two queries, and the snapshot).

    `events_before`: audit events of the caller's own change under the same lock (e.g. the implicit
    claim of a work item before completing it), recorded as `actor` ahead of the step's events in the
    same INSERT, and saved with the step's row write: the caller writes neither. A failing step still
    records them, ahead of its incident, so the trail reads the same either way.
    """
    now = now or timezone.now()
    # Every log line of the step (engine, effect handlers ...) carries the instance id and business key.
    with log_context(instance_id=str(instance_id)):
        return _guarded(
            command,
            lambda: _run_step(
                instance_id, command, actor, incident_id, now, locked=locked, events_before=events_before
            ),
            lambda exc: _record_failure(
                instance_id, command, actor, exc, incident_id=incident_id, now=now, events_before=events_before
            ),
        )


def _guarded(
    command: Command,
    run: Callable[[], ProcessInstance],
    record_failure: Callable[[Exception], ProcessInstance],
) -> ProcessInstance:
    """Run a step and sort what it raises: answers and infrastructure trouble go to the caller, an
    engine rejection becomes a 409, anything else is the step failing (`record_failure`)."""
    started = time.perf_counter()
    try:
        return run()
    except OperationalError as exc:
        # SQLite waits for its write lock at BEGIN, before `lock_instance_bounded` could translate it.
        raise_if_busy(exc)
        raise
    except (ApiError, DatabaseError):
        # Answers to the caller, and infrastructure trouble (the caller retries): no incident.
        raise
    except bpmn.CommandRejected as exc:
        raise Conflict(str(exc), code=exc.code) from exc
    except Exception as exc:
        return record_failure(exc)
    finally:
        STEP_SECONDS.labels(command=command.kind).observe(time.perf_counter() - started)


def _run_step(
    instance_id: uuid.UUID | str, command: Command, actor: str, incident_id: int | None, now: datetime,
    *, locked: ProcessInstance | None = None, events_before: Sequence[EventDraft],
) -> ProcessInstance:
    """Steps 1-6 in one transaction; any exception rolls all of it back."""
    with transaction.atomic():
        # A copy: a failed step must not leave the caller's object changed (the savepoint rolls back).
        instance = copy.copy(locked) if locked is not None else lock_instance_bounded(instance_id)
        bind_log_context(business_key=instance.business_key)
        _check_applies(instance, command, incident_id)
        _step_and_write(instance, command, actor, now, incident_id=incident_id, events_before=events_before)
        return instance


def _step_and_write(
    instance: ProcessInstance, command: Command, actor: str, now: datetime,
    *, incident_id: int | None = None, insert: bool = False, events_before: Sequence[EventDraft] = (),
) -> _Change:
    """Run the command, write the step's side rows, then the row itself: one UPDATE (or the INSERT of
    a new instance), last, so the effect handlers' fields ride along. Returns what the step did."""
    change = _apply(instance, command, now)
    if incident_id is not None:
        change.events.extend(resolve_incident(instance=instance, incident_id=incident_id, now=now))
    if change.result is not None:
        change.update_fields.extend(_record_effects(instance, command, change.result, now))
    append_events(instance=instance, drafts=[*events_before, *change.events], actor=actor, now=now)
    # Hand-built statements (`apps.core.rows`): the ORM's `save` compiled more than the step ran.
    if insert:
        insert_rows(ProcessInstance, [instance])
    else:
        update_row(instance, [*change.update_fields, "event_seq"])
    return change


def _record_effects(instance: ProcessInstance, command: Command, result: bpmn.StepResult, now: datetime) -> list[str]:
    """Messages, signals and the registered effect handlers; returns the instance fields they set."""
    traits = get_engine().traits(model_source_for(instance.definition))
    step_messages_record(instance=instance, result=result, now=now, catches=traits.catches_messages)
    step_signals_record(instance=instance, result=result, now=now, catches=traits.catches_signals)
    return run_effect_handlers(instance, result)


def instance_start_new(
    *, instance: ProcessInstance, command: StartCommand, actor: str, now: datetime | None = None,
) -> ProcessInstance:
    """Run the first step of an instance that is not in the database yet, then insert it as it stands.

    `instance` is a new, unsaved row. Nobody else can see it, so it needs no lock, and the step ends
    with one INSERT instead of an INSERT before and an UPDATE after. A step that fails still leaves
    the row (as `running`, without a snapshot) with an open incident whose retry re-runs the start.
    An `IntegrityError` of the INSERT (the unique business key) propagates with nothing written.

    A first step that opened no incident leaves the instance's `incidents` known to be empty (no
    query to answer them); a failed one leaves them to be read.
    """
    now = now or timezone.now()
    instance.started_at = now  # SLA clocks count from it before the row exists
    pristine = copy.copy(instance)

    def run() -> ProcessInstance:
        with transaction.atomic():
            change = _step_and_write(instance, command, actor, now, insert=True)
        # Every incident of a new instance is one its first step opened, with its `incident.opened`.
        if not any(event.type == "incident.opened" for event in change.events):
            incidents_known_empty(instance)
        return instance

    with log_context(instance_id=str(instance.pk), business_key=instance.business_key):
        return _guarded(
            command,
            run,
            lambda exc: _record_failure(pristine.pk, command, actor, exc, incident_id=None, now=now, new=pristine),
        )


def _check_applies(instance: ProcessInstance, command: Command, incident_id: int | None) -> None:
    if instance.is_finished:
        raise Conflict(f"The instance is already {instance.status}.", code="instance_finished")
    suspended = instance.status == InstanceStatus.SUSPENDED
    if suspended and not command.allowed_when_suspended:
        raise Conflict("The instance is suspended; resume it first.", code="instance_suspended")
    if isinstance(command, ResumeCommand) and not suspended:
        raise Conflict("The instance is not suspended.", code="instance_not_suspended")
    if isinstance(command, StartCommand) and instance.snapshot:
        raise Conflict("The instance has already started.", code="instance_already_started")
    if not isinstance(command, StartCommand | CancelCommand | LifecycleCommand) and not instance.snapshot:
        raise Conflict("The instance has not started yet (its start step failed).", code="instance_not_started")
    if incident_id is not None and not instance.incidents.filter(pk=incident_id, status="open").exists():
        raise Conflict("The incident is not open any more.", code="incident_resolved")


def _apply(instance: ProcessInstance, command: Command, now: datetime) -> _Change:
    """Change the instance in memory; return the fields to save, the audit events and the result."""
    if isinstance(command, LifecycleCommand):
        return _Change(["status", "suspended_from"], _apply_lifecycle(instance, command))
    assert isinstance(command, EngineCommand)
    ctx = StepContext(
        engine=get_engine(),
        source=model_source_for(instance.definition),
        snapshot=instance.snapshot,
        variables=dict(instance.variables),
        now=now,
    )
    result = command.run(ctx)
    update_fields = _copy_result(instance, result, now)
    return _Change(update_fields, _step_events(instance, command, result, now), result)


def _apply_lifecycle(instance: ProcessInstance, command: LifecycleCommand) -> list[EventDraft]:
    if isinstance(command, ResumeCommand):
        instance.status = instance.suspended_from or InstanceStatus.WAITING
        instance.suspended_from = ""
        event = "instance.resumed"
    else:
        instance.suspended_from = instance.status
        instance.status = InstanceStatus.SUSPENDED
        event = "instance.suspended"
    return [EventDraft(event, data={"status": instance.status})]


def _copy_result(instance: ProcessInstance, result: bpmn.StepResult, now: datetime) -> list[str]:
    """Copy the step's result onto the row (in memory) and return the fields that changed."""
    instance.snapshot = result.snapshot
    instance.snapshot_version = result.snapshot_version
    instance.status = result.status
    instance.suspended_from = ""
    instance.variables = result.variables
    instance.active_activities = list(result.active_activities)
    instance.completed_activities = [*instance.completed_activities, *result.completed_activities]
    instance.next_timer_at = result.next_timer_at
    update_fields = [
        "snapshot",
        "snapshot_version",
        "status",
        "suspended_from",
        "variables",
        "active_activities",
        "completed_activities",
        "next_timer_at",
    ]
    if result.status in FINISHED_STATUSES:
        instance.ended_at = now
        update_fields.append("ended_at")
    return update_fields


def _step_events(
    instance: ProcessInstance, command: Command, result: bpmn.StepResult, now: datetime
) -> list[EventDraft]:
    """The step's audit trail, reading top-down: started, what ran, incidents, how it ended.

    The engine lists `instance.started` after the activities it ran and its own ending before the
    incidents this function opens, so both are moved; an ending the engine did not emit is added.
    """

    def draft(event: bpmn.AuditEvent) -> EventDraft:
        return EventDraft(event.type, activity_id=event.activity_id or "", data=dict(event.data))

    framing = {"instance.started", *_ENDINGS}
    events: list[EventDraft] = []
    if isinstance(command, StartCommand):
        started = next((e for e in result.audit if e.type == "instance.started"), None)
        events.append(
            EventDraft(
                "instance.started",
                data={**(started.data if started else {}), "version": instance.definition.version},
            )
        )
    events.extend(draft(e) for e in result.audit if e.type not in framing)
    if isinstance(command, CancelCommand):
        events.extend(close_open_incidents(instance=instance, now=now, reason="instance_cancelled"))
    events.extend(
        open_incident(
            instance=instance,
            kind=report.kind,
            message=report.message,
            activity_id=report.activity_id or "",
            command=None,
            now=now,
        )
        for report in result.incidents
    )
    endings = [draft(e) for e in result.audit if e.type in _ENDINGS]
    if result.status in FINISHED_STATUSES and not endings:
        endings.append(EventDraft(f"instance.{result.status}"))
    return events + endings


def _describe_failure(exc: Exception) -> _Failure:
    if isinstance(exc, bpmn.StepFailed):
        return _Failure(exc.kind, str(exc), exc.activity_id or "")
    if isinstance(exc, bpmn.ExpressionError):
        return _Failure("expression_error", str(exc), exc.element_id or "")
    return _Failure("step_failed", f"{type(exc).__name__}: {exc}")


def _record_failure(
    instance_id: uuid.UUID | str,
    command: Command,
    actor: str,
    exc: Exception,
    *,
    incident_id: int | None,
    now: datetime,
    new: ProcessInstance | None = None,
    events_before: Sequence[EventDraft] = (),
) -> ProcessInstance:
    """In a new transaction (the step's was rolled back), record why the step failed.

    `new`: the step was the first of an instance that is not in the database yet; it is inserted as
    it was before the step. `events_before` (the step's, rolled back with it) are recorded ahead of
    the failure's event; their numbers follow the `event_seq` read under the lock here, as stored.
    """
    failure = _describe_failure(exc)
    logger.warning(
        "step failed: %s",
        failure.message,
        exc_info=exc,
        extra={"instance_id": str(instance_id), "activity_id": failure.activity_id or None},
    )
    with transaction.atomic():
        if new is not None:
            new.save(force_insert=True)
            instance = new
        else:
            instance = lock_instance_bounded(instance_id)
        if incident_id is not None:
            events = [_count_failed_retry(instance, incident_id, failure)]
        else:
            events = [
                open_incident(
                    instance=instance,
                    kind=failure.kind,
                    message=failure.message,
                    activity_id=failure.activity_id,
                    command=command.to_json(),
                    now=now,
                )
            ]
        update_fields = ["event_seq"]
        if isinstance(command, FireTimersCommand) and instance.next_timer_at is not None:
            # Otherwise the sweep would fail on the same timer every second, an incident each time;
            # retrying the incident fires the timers again and restores `next_timer_at` from the engine.
            instance.next_timer_at = None
            update_fields.append("next_timer_at")
        append_events(instance=instance, drafts=[*events_before, *events], actor=actor, now=now)
        instance.save(update_fields=update_fields)
        return instance


def _count_failed_retry(instance: ProcessInstance, incident_id: int, failure: _Failure) -> EventDraft:
    incident = Incident.objects.select_for_update().get(pk=incident_id, instance=instance)
    incident.attempts += 1
    incident.message = failure.message
    incident.save(update_fields=["attempts", "message"])
    return EventDraft(
        "incident.retry_failed",
        activity_id=incident.activity_id,
        data={"incident_id": incident.pk, "attempts": incident.attempts, "message": failure.message},
    )
