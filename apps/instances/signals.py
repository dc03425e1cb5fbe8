"""BPMN signals between instances: the subscription index, the outbox, and broadcasting.

A signal is a broadcast (BPMN 10.5.1): no correlation, every waiting catcher gets it.

- **Recording** (`step_signals_record`, called by the pipeline inside every step's transaction):
  the instance's `SignalSubscription` rows are made equal to the step's
  `StepResult.signal_subscriptions`, and every signal the step threw becomes an `OutboundSignal`
  row, routed by a Celery task on queue `engine` after commit. A model without any signal costs no
  query.
- **Routing** (`outbound_signal_route`, exactly once per row: the row is locked with `SKIP LOCKED`
  and marked in the routing transaction): the signal is delivered to every waiting or running
  instance subscribed to its name except the one that threw it (its own catchers got it during
  the step), each in its own step, and it starts one instance of the latest version of every
  process key with a signal start event of that name. Both happen: unlike a message, a signal
  does not stop at the first kind of recipient.
- **From outside** (`signal_broadcast`, `POST /api/v1/signals/`): the same, at once; nobody
  waiting is not an error (a broadcast may reach no one): the answer lists no instance.

Locks: deliveries lock instance rows in id order; a busy instance (`instance_busy`) aborts the
routing (all or nothing), which the API answers with 409 and the task retries.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from celery import shared_task
from django.db import transaction
from django.utils import timezone

import bpmn
from apps.core.errors import Conflict
from apps.definitions.models import ProcessDefinition
from apps.instances.commands import COMMANDS, EngineCommand, StepContext
from apps.instances.models import (
    InstanceStatus,
    OutboundMessageStatus,
    OutboundSignal,
    ProcessInstance,
    SignalStartEvent,
    SignalStartScan,
    SignalSubscription,
)
from apps.instances.runtime import get_engine, model_source_for

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

ENGINE_QUEUE = "engine"
BUSY_MAX_RETRIES = 8
_CANDIDATE_STATUSES = (InstanceStatus.WAITING, InstanceStatus.RUNNING)


@dataclass(frozen=True)
class DeliverSignalCommand(EngineCommand):
    """Deliver a broadcast signal to the instance's waiting catchers (`Engine.deliver_signal`)."""

    kind: ClassVar[str] = "deliver_signal"
    name: str = ""
    variables: dict[str, Any] | None = None

    def run(self, ctx: StepContext) -> bpmn.StepResult:
        return ctx.engine.deliver_signal(ctx.source, ctx.snapshot, name=self.name,
                                         variables=dict(self.variables or {}), now=ctx.now)


COMMANDS[DeliverSignalCommand.kind] = DeliverSignalCommand  # retries of its incidents rebuild it


# --- recording (inside a step) ------------------------------------------------------------------


def step_signals_record(
    *, instance: ProcessInstance, result: bpmn.StepResult, now: datetime, catches: bool
) -> None:
    """Replace the instance's signal subscriptions with the step's and put thrown signals in the outbox.

    `catches`: whether the instance's model can catch a signal at all (`bpmn.Engine.traits`); a model
    that cannot has no subscription rows to diff, so a step that throws none costs no query.
    """
    if not result.signals_thrown and not result.signal_subscriptions and not catches:
        return
    signal_subscriptions_replace(instance=instance, subscriptions=result.signal_subscriptions, now=now)
    if result.signals_thrown:
        outbound_signals_record(
            source=instance, signals=[(s.name, s.payload) for s in result.signals_thrown], now=now
        )


def signal_subscriptions_replace(
    *, instance: ProcessInstance, subscriptions: list[bpmn.SignalSubscription], now: datetime
) -> None:
    """Make the instance's index rows equal `subscriptions` (a diff: rows that stay keep `created_at`)."""
    wanted = {(s.name, s.activity_id) for s in subscriptions}
    rows = list(instance.signal_subscriptions.values_list("pk", "name", "activity_id"))
    have = {(name, activity): pk for pk, name, activity in rows}
    stale = [pk for ident, pk in have.items() if ident not in wanted]
    if stale:
        SignalSubscription.objects.filter(pk__in=stale).delete()
    new = [SignalSubscription(instance=instance, name=name, activity_id=activity, created_at=now)
           for name, activity in sorted(wanted - have.keys())]
    if new:
        SignalSubscription.objects.bulk_create(new, ignore_conflicts=True)


def outbound_signals_record(
    *, source: ProcessInstance | None, signals: list[tuple[str, Any]], now: datetime
) -> list[OutboundSignal]:
    """Write an outbox row per signal and have each routed by a worker after commit."""
    rows = OutboundSignal.objects.bulk_create([
        OutboundSignal(source_instance=source, name=name,
                       variables=payload if isinstance(payload, dict) else {}, created_at=now)
        for name, payload in signals
    ])
    for row in rows:
        signal_id = str(row.pk)
        transaction.on_commit(lambda signal_id=signal_id: _send_route_task(signal_id))  # type: ignore[misc]
    return rows


def _send_route_task(signal_id: str) -> None:
    """Enqueue routing; a broker failure is logged (`outbound_signals_route_pending` routes it later)."""
    try:
        route_thrown_signal.apply_async((signal_id,), queue=ENGINE_QUEUE)
    except Exception:
        logger.exception("could not enqueue signal routing; the sweep will route it", extra={"signal_id": signal_id})


# --- routing ------------------------------------------------------------------------------------


def signal_broadcast(*, name: str, variables: dict[str, Any] | None = None, actor: User | None,
                     now: datetime | None = None) -> list[uuid.UUID]:
    """Broadcast a signal from outside (the API) now: the instances it reached or started, maybe none.

    Raises `Conflict` (`instance_busy`) when a subscribed instance stayed locked; nothing changes then.
    """
    now = now or timezone.now()
    with transaction.atomic():
        row = OutboundSignal.objects.create(name=name, variables=variables or {}, created_at=now)
        reached = _route(row, actor)
        _mark(row, reached, now)
    return reached


def outbound_signal_route(*, signal_id: uuid.UUID | str, now: datetime | None = None) -> bool:
    """Route one outbox row exactly once; False when it is routed already or another worker has it."""
    with transaction.atomic():
        row = (OutboundSignal.objects.select_for_update(skip_locked=True)
               .filter(pk=signal_id, status=OutboundMessageStatus.PENDING).first())
        if row is None:
            return False
        _mark(row, _route(row, None), now or timezone.now())
    return True


def outbound_signals_route_pending(*, older_than: timedelta, limit: int = 100, now: datetime | None = None) -> int:
    """Backstop sweep: route outbox rows still pending after `older_than` (the broker lost them)."""
    now = now or timezone.now()
    pending = list(OutboundSignal.objects.filter(status=OutboundMessageStatus.PENDING,
                                                 created_at__lte=now - older_than)
                   .order_by("created_at").values_list("pk", flat=True)[:limit])
    routed = 0
    for signal_id in pending:
        try:
            routed += outbound_signal_route(signal_id=signal_id, now=now)
        except Exception:
            logger.exception("could not route a pending signal", extra={"signal_id": str(signal_id)})
    return routed


def _mark(row: OutboundSignal, reached: list[uuid.UUID], now: datetime) -> None:
    row.status = OutboundMessageStatus.DELIVERED if reached else OutboundMessageStatus.UNMATCHED
    row.instance_ids = [str(i) for i in reached]
    row.routed_at = now
    row.save(update_fields=["status", "instance_ids", "routed_at"])


def _route(row: OutboundSignal, actor: User | None) -> list[uuid.UUID]:
    return [*_deliver_to_waiting(row, actor), *_start_by_signal(row, actor)]


def subscribed_instance_ids(*, name: str, exclude: uuid.UUID | None = None) -> list[uuid.UUID]:
    """Waiting or running instances subscribed to signal `name` (one index lookup), in id order."""
    ids = set(SignalSubscription.objects.filter(name=name, instance__status__in=_CANDIDATE_STATUSES)
              .values_list("instance_id", flat=True))
    ids.discard(exclude)
    return sorted(ids, key=str)


def _deliver_to_waiting(row: OutboundSignal, actor: User | None) -> list[uuid.UUID]:
    from apps.instances.pipeline import SYSTEM_ACTOR, instance_step  # noqa: PLC0415 - the pipeline imports us

    command = DeliverSignalCommand(name=row.name, variables=dict(row.variables or {}))
    actor_name = actor.get_username() if actor is not None else SYSTEM_ACTOR
    delivered = []
    for instance_id in subscribed_instance_ids(name=row.name, exclude=row.source_instance_id):
        try:
            instance_step(instance_id=instance_id, command=command, actor=actor_name)
        except Conflict as exc:
            if exc.code == "instance_busy":
                raise
            logger.info("signal not delivered: %s", exc.code, extra={"instance_id": str(instance_id)})
            continue
        delivered.append(instance_id)
    return delivered


def _start_by_signal(row: OutboundSignal, actor: User | None) -> list[uuid.UUID]:
    from apps.instances.services import instance_start  # noqa: PLC0415 - services import the pipeline

    signal_starts_reconcile()
    started = []
    for process_key, version in _latest_signal_starts(row.name):
        instance = instance_start(process_key=process_key, version=version, variables=dict(row.variables or {}),
                                  started_by=actor, trigger=bpmn.StartTrigger("signal", signal_name=row.name))
        started.append(instance.pk)
    return started


def _latest_signal_starts(name: str) -> list[tuple[str, int]]:
    """(process key, version) of the latest version of every key whose latest version starts on `name`."""
    keys = sorted(set(SignalStartEvent.objects.filter(signal_name=name).values_list("process_key", flat=True)))
    out = []
    for key in keys:
        latest = ProcessDefinition.objects.filter(key=key).order_by("-version").values_list("pk", "version").first()
        if latest and SignalStartEvent.objects.filter(definition_id=latest[0], signal_name=name).exists():
            out.append((key, latest[1]))
    return out


def signal_starts_reconcile(*, now: datetime | None = None) -> int:
    """Index the signal start events of every definition not scanned yet; return how many it scanned."""
    now = now or timezone.now()
    pending = list(ProcessDefinition.objects.filter(signal_start_scan__isnull=True).defer("warnings"))
    for definition in pending:
        try:
            infos = get_engine().start_events(model_source_for(definition))
        except Exception:
            logger.exception("could not read the start events of a definition", extra={"definition_id": definition.pk})
            infos = []
        SignalStartEvent.objects.bulk_create(
            [SignalStartEvent(definition=definition, process_key=definition.key, activity_id=i.activity_id,
                              signal_name=i.signal_name or "")
             for i in infos if i.kind == "signal" and i.signal_name],
            ignore_conflicts=True,
        )
        SignalStartScan.objects.bulk_create([SignalStartScan(definition=definition, scanned_at=now)],
                                            ignore_conflicts=True)
    return len(pending)


@shared_task(bind=True, name="apps.instances.signals.route_thrown_signal", acks_late=True, ignore_result=True,
             max_retries=BUSY_MAX_RETRIES)
def route_thrown_signal(self: Any, signal_id: str) -> None:
    """Route a signal an instance threw (outbox row id). Idempotent: a routed row is left alone."""
    try:
        outbound_signal_route(signal_id=signal_id)
    except Conflict as exc:
        if exc.code == "instance_busy":
            raise self.retry(exc=exc, countdown=min(2**self.request.retries, 30)) from exc
        logger.warning("thrown signal not routed: %s", exc.code, extra={"signal_id": signal_id})
