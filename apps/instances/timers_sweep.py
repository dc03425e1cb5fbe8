"""Instance timers: claim what falls due soon, fire it on the worker pool, exactly once, never early.

How a timer gets from due to fired (docs/operations.md, "Timers"; docs/adr/0003-timer-dispatch.md):

1. *Claim* (`timers_dispatch_due`, Celery beat about once a second, one short transaction): the
   instances whose `next_timer_at` falls within `now + PATCHBAY_TIMER_LOOKAHEAD_MS` and that no
   earlier sweep handed out are locked with `SKIP LOCKED` and stamped with the due time they were
   claimed for (`timer_dispatched_for`) and a lease (`timer_lease_until`). At most
   `PATCHBAY_TIMER_MAX_IN_FLIGHT` claims are open at once, so a backlog (timers missed during
   downtime) is fed to the workers as fast as they fire, not queued all at once.
2. *Dispatch*: after the commit, the claimed instances go out in batches of close due times (at most
   `PATCHBAY_TIMER_BATCH_SIZE`, spanning at most `PATCHBAY_TIMER_BATCH_SPAN_MS`), each one Celery
   message with `eta` = the latest due time in it, so every worker process of the pool fires
   batches in parallel, right when they fall due, instead of one process at the next sweep.
3. *Fire* (`timers_fire_batch`): each instance in its own transaction, locked with `SKIP LOCKED`
   and re-checked under the lock (still due at the wall clock, still waiting or running), stepped
   with that clock as `now`.

Guarantees:

* Exactly once: the lock plus the re-check decides; a duplicate message (redelivery, a second sweep
  after a lease ran out) finds the timer no longer due and does nothing.
* Never early: the step's `now` is the wall clock when the row is locked, and the row is only
  stepped if `next_timer_at <= now`. A message that arrives early skips the instance (the task
  sends it again), it never fires it.
* Durable: the database row stays the source of truth. A lost message (worker killed, broker
  restarted) leaves the claim behind; when its lease ends the next sweep claims and sends it again.
  A re-armed timer (new `next_timer_at`, e.g. the next cycle) is claimable at once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.core.metrics import TIMER_LATENESS_SECONDS
from apps.instances.commands import FireTimersCommand
from apps.instances.locking import lock_instances_skip_locked
from apps.instances.models import InstanceStatus, ProcessInstance
from apps.instances.pipeline import SYSTEM_ACTOR, instance_step

logger = logging.getLogger(__name__)

# A suspended instance keeps its timer: it fires on resume (finished ones have none).
TIMER_STATUSES = (InstanceStatus.WAITING, InstanceStatus.RUNNING)


@dataclass(frozen=True)
class TimerBatch:
    """Instances whose timers a worker fires together, not before `fire_at` (the latest due time)."""

    instance_ids: list[str]
    fire_at: datetime


@dataclass(frozen=True)
class DispatchSettings:
    """The sweep's knobs (`PATCHBAY_TIMER_*`, docs/operations.md "Timers")."""

    lookahead: timedelta
    lease: timedelta
    batch_size: int
    batch_span: timedelta
    max_in_flight: int

    @classmethod
    def from_settings(cls) -> DispatchSettings:
        """Read the Django settings (tests override them with the `settings` fixture)."""
        return cls(
            lookahead=timedelta(milliseconds=settings.PATCHBAY_TIMER_LOOKAHEAD_MS),
            lease=timedelta(seconds=settings.PATCHBAY_TIMER_LEASE_SECONDS),
            batch_size=max(1, settings.PATCHBAY_TIMER_BATCH_SIZE),
            batch_span=timedelta(milliseconds=settings.PATCHBAY_TIMER_BATCH_SPAN_MS),
            max_in_flight=settings.PATCHBAY_TIMER_MAX_IN_FLIGHT,
        )


def due_condition(now: datetime) -> Q:
    """Instances with a timer due at `now` that may be stepped."""
    return Q(next_timer_at__lte=now, status__in=TIMER_STATUSES)


def _claim_holds(now: datetime) -> Q:
    # A claim counts while it is for the current due time and its lease has not run out.
    return Q(timer_dispatched_for=F("next_timer_at"), timer_lease_until__gte=now)


def timers_dispatch_due(*, send: Callable[[TimerBatch], None], now: datetime | None = None) -> int:
    """Claim the instances whose timers fall due within the lookahead and `send` them in batches.

    Returns how many instances were claimed. `send` (the Celery task's `apply_async` in production)
    is called after the claim committed; a batch it fails to send is logged and comes back when its
    lease ends. Concurrency guarantee: overlapping sweeps claim disjoint instances (`SKIP LOCKED`, and
    a committed claim excludes the row), so an instance is sent once per due time and lease.
    """
    now = now or timezone.now()
    config = DispatchSettings.from_settings()
    claimed = _claim(now, config)
    for batch in timer_batches(claimed, size=config.batch_size, span=config.batch_span):
        try:
            send(batch)
        except Exception:
            logger.exception("timer batch not sent; it is sent again when its lease ends",
                             extra={"instances": len(batch.instance_ids)})
    return len(claimed)


def _claim(now: datetime, config: DispatchSettings) -> list[tuple[uuid.UUID, datetime]]:
    """Lock, stamp and return (id, due time) of the claimable instances, earliest first."""
    soon = ProcessInstance.objects.filter(due_condition(now + config.lookahead))
    with transaction.atomic():
        room = config.max_in_flight - soon.filter(_claim_holds(now)).count()
        if room <= 0:
            return []
        rows = list(
            soon.exclude(_claim_holds(now))
            .order_by("next_timer_at")
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", "next_timer_at")[:room]
        )
        if rows:
            ProcessInstance.objects.filter(pk__in=[pk for pk, _ in rows]).update(
                timer_dispatched_for=F("next_timer_at"), timer_lease_until=now + config.lease
            )
    return [(pk, due) for pk, due in rows if due is not None]


def timer_batches(due: Iterable[tuple[uuid.UUID, datetime]], *, size: int, span: timedelta) -> list[TimerBatch]:
    """Group (id, due time) pairs, sorted by due time, into batches of at most `size` ids whose due
    times lie within `span` of the batch's first, to be fired at the batch's latest due time: none
    fires early, none waits more than `span` for the others."""
    groups: list[list[tuple[uuid.UUID, datetime]]] = []
    for pk, at in due:
        if not groups or len(groups[-1]) >= size or at - groups[-1][0][1] > span:
            groups.append([])
        groups[-1].append((pk, at))
    return [TimerBatch([str(pk) for pk, _ in group], max(at for _, at in group)) for group in groups]


def timers_fire_batch(*, instance_ids: Sequence[str]) -> list[str]:
    """Fire the timers of those instances that are due at the wall clock; return the ids to try
    again: still due, but another step held the row.

    Instances fired already (a duplicate batch), re-armed to a later time (claimed again by the
    sweep), finished or suspended are dropped. Safe to run twice, and concurrently with sweeps and
    other steps (see the module docstring).
    """
    fired = _fire(instance_ids, None)
    missed = [pk for pk in instance_ids if str(pk) not in fired]
    if not missed:
        return []
    # One unlocked read, only when something was missed: a held row is still due, a fired one is not.
    held = ProcessInstance.objects.filter(due_condition(timezone.now()), pk__in=missed).values_list("pk", flat=True)
    return [str(pk) for pk in held]


def timers_fire_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Step every instance with a timer due at `now`, in this process; return how many were stepped.

    The inline sweep (tests, a shell after an outage): due instances in `next_timer_at` order, at
    most `limit`, fired as by `timers_fire_batch` but at the given clock. Any number may run at once,
    beside the dispatching sweep: each due instance is stepped by exactly one of them.
    """
    now = now or timezone.now()
    due = ProcessInstance.objects.filter(due_condition(now)).order_by("next_timer_at").values_list("pk", flat=True)
    ids = [str(pk) for pk in due[:limit]]
    size = DispatchSettings.from_settings().batch_size
    return sum(len(_fire(ids[first : first + size], now)) for first in range(0, len(ids), size))


def _fire(instance_ids: Sequence[str], now: datetime | None) -> set[str]:
    """Lock the due ones among `instance_ids` and step each; return the ids stepped.

    One transaction for the batch (one `SKIP LOCKED` query, one commit: 4 statements per timer
    instead of 7), each step in its own savepoint. The clock is read after BEGIN and before the lock,
    so a row is stepped only if it is due at the `now` its step gets. A failing step is logged (it
    opened an incident, or its savepoint rolled back) and the batch goes on.
    """
    fired: set[str] = set()
    with transaction.atomic():
        clock = now or timezone.now()
        for locked in _lock_due(instance_ids, clock):
            try:
                _step_locked(locked, clock)
            except Exception:
                logger.exception("timer could not step an instance", extra={"instance_id": str(locked.pk)})
            else:
                fired.add(str(locked.pk))
    return fired


def _lock_due(instance_ids: Sequence[str], now: datetime) -> list[ProcessInstance]:
    return lock_instances_skip_locked(list(instance_ids), condition=due_condition(now))


def _step_locked(locked: ProcessInstance, now: datetime) -> None:
    if locked.next_timer_at is not None:
        TIMER_LATENESS_SECONDS.observe(max((timezone.now() - locked.next_timer_at).total_seconds(), 0.0))
    # It works on the instance we locked instead of locking and reading it again.
    instance_step(instance_id=locked.pk, command=FireTimersCommand(), actor=SYSTEM_ACTOR, now=now, locked=locked)
