"""Protection of the systems we call: pause, circuit breaker and concurrency limit, per system.

All state is in the `ExternalSystem` row, changed only while it is locked (`system_lock`), so every
worker process sees the same breaker and the running-call count read from the outbox is exact:

* paused: calls are not started; they stay pending and run after resume (nothing is lost);
* breaker closed -> open after `failure_threshold` consecutive retryable failures within
  `failure_window_seconds`; open fails fast (the call is not attempted, it is rescheduled for when
  the breaker half-opens, `cooldown_seconds` later); half-open lets one probe call through; the
  probe's success closes the breaker, its failure opens it again;
* at most `max_concurrency` calls of the system run at once (rows in `running`); a call over the
  limit is rescheduled shortly, not failed.

A business answer (BPMN error, 4xx) proves the system is up: it counts as a success for the breaker.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from apps.core.rows import select_row
from apps.integrations import registry
from apps.integrations.models import BreakerState, ExternalSystem

# A call refused for the concurrency limit, or while a half-open probe runs, waits about this long.
BUSY_RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class Admission:
    """Whether a call may start now; if not, why and when to try again (None: leave it as it is)."""

    allowed: bool
    reason: str = ""
    retry_at: datetime | None = None


def system_defaults(name: str) -> dict[str, float | int]:
    """The limits a new system row starts with: the connector's declaration, else the settings."""
    connector = registry.connectors().get(name)
    declared = connector.limits if connector is not None else None
    return {
        "max_concurrency": (declared and declared.max_concurrency) or settings.PATCHBAY_SYSTEM_MAX_CONCURRENCY,
        "failure_threshold": (declared and declared.failure_threshold) or settings.PATCHBAY_BREAKER_FAILURE_THRESHOLD,
        "failure_window_seconds": (declared and declared.failure_window) or settings.PATCHBAY_BREAKER_WINDOW_SECONDS,
        "cooldown_seconds": (declared and declared.cooldown) or settings.PATCHBAY_BREAKER_COOLDOWN_SECONDS,
    }


def system_get_or_create(name: str) -> ExternalSystem:
    """The system's row, created with its default limits on first use."""
    system, _ = ExternalSystem.objects.get_or_create(name=name, defaults=system_defaults(name))
    return system


def system_lock(name: str) -> ExternalSystem:
    """Lock the system's row (creating it first if needed). Must run inside `transaction.atomic()`."""
    system = select_row(ExternalSystem, "name", name, lock=True)
    if system is not None:
        return system
    system_get_or_create(name)  # first use of the system (rows are never deleted)
    return ExternalSystem.objects.select_for_update().get(name=name)


def _soon(at: datetime, seconds: float) -> datetime:
    # Jitter (up to half as long again) spreads the calls that were refused together.
    return at + timedelta(seconds=seconds * random.uniform(1.0, 1.5))  # noqa: S311 - not cryptographic


def busy_retry_at(now: datetime) -> datetime:
    """When a call refused for the concurrency limit looks again."""
    return _soon(now, BUSY_RETRY_SECONDS)


def admit(system: ExternalSystem, *, call_pk: int, now: datetime, lease_until: datetime) -> Admission:
    """Decide whether the system lets the call start now: pause and breaker (the caller holds the
    system lock; the concurrency limit is checked by the claim's UPDATE itself, `services._claim_sql`)."""
    if system.paused:
        return Admission(False, "system_paused")
    if system.breaker_state == BreakerState.OPEN:
        half_open_at = (system.opened_at or now) + timedelta(seconds=system.cooldown_seconds)
        if now < half_open_at:
            return Admission(False, "breaker_open", _soon(half_open_at, BUSY_RETRY_SECONDS))
    if system.breaker_state == BreakerState.CLOSED:
        return Admission(True)
    return _admit_probe(system, call_pk=call_pk, now=now, lease_until=lease_until)


def _admit_probe(system: ExternalSystem, *, call_pk: int, now: datetime, lease_until: datetime) -> Admission:
    """Half-open (or open past its cool-down): one probe call at a time goes through."""
    probing = system.probe_call_id not in (None, call_pk) and system.probe_until is not None
    if probing and system.probe_until is not None and system.probe_until > now:
        return Admission(False, "breaker_half_open", _soon(now, BUSY_RETRY_SECONDS))
    system.breaker_state = BreakerState.HALF_OPEN
    system.probe_call_id = call_pk
    system.probe_until = lease_until
    system.save(update_fields=["breaker_state", "probe_call_id", "probe_until"])
    return Admission(True, "probe")


def breaker_quiet(system: ExternalSystem) -> bool:
    """A closed breaker with no failure counted: a success would change nothing on it."""
    return system.breaker_state == BreakerState.CLOSED and system.consecutive_failures == 0


def breaker_unchanged_by(*, quiet: bool, system_ok: bool | None) -> bool:
    """True when recording `system_ok` leaves the breaker as it is: nothing to lock or write.

    `quiet`: the breaker was closed with no failure counted when the call was claimed (under the
    system lock, `breaker_quiet`); a success is then a no-op, counted as of the claim. A failure
    counted by another call meanwhile stays counted; the next success recorded under the lock resets
    it, as it would have.
    """
    if system_ok is None:
        return True
    return system_ok and quiet


def breaker_record(system: ExternalSystem, *, system_ok: bool | None, now: datetime) -> None:
    """Count a call's outcome on the breaker (caller holds the lock); None = says nothing of the system."""
    if system_ok is None:
        return
    if system_ok:
        _close(system)
    else:
        _count_failure(system, now)


def _close(system: ExternalSystem) -> None:
    if system.breaker_state == BreakerState.CLOSED and system.consecutive_failures == 0:
        return
    system.breaker_state = BreakerState.CLOSED
    system.consecutive_failures = 0
    system.window_started_at = None
    system.opened_at = None
    system.probe_call_id = None
    system.probe_until = None
    system.save(update_fields=[
        "breaker_state", "consecutive_failures", "window_started_at", "opened_at", "probe_call_id", "probe_until",
    ])


def _count_failure(system: ExternalSystem, now: datetime) -> None:
    window = timedelta(seconds=system.failure_window_seconds)
    if system.window_started_at is None or now - system.window_started_at > window:
        system.window_started_at = now
        system.consecutive_failures = 0
    system.consecutive_failures += 1
    probe_failed = system.breaker_state == BreakerState.HALF_OPEN
    if probe_failed or (
        system.breaker_state == BreakerState.CLOSED and system.consecutive_failures >= system.failure_threshold
    ):
        system.breaker_state = BreakerState.OPEN
        system.opened_at = now
        system.probe_call_id = None
        system.probe_until = None
    system.save(update_fields=[
        "breaker_state", "consecutive_failures", "window_started_at", "opened_at", "probe_call_id", "probe_until",
    ])
