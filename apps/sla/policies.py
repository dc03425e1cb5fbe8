"""Effective SLA policies: what the model declares (`bpmn.sla`), merged with ops overrides (`SlaPolicy`).

Also turns a policy's calendar name into a `Clock` (`apps.sla.calendars`): `wall`, `business` (the
deployment's default calendar, `settings.PATCHBAY_SLA_DEFAULT_CALENDAR`) or a `BusinessCalendar` name.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from apps.sla.calendars import Clock, WallClock, WorkingTime, parse_closed_days
from apps.sla.models import BusinessCalendar, SlaPolicy
from bpmn import ModelSource
from bpmn.sla import BUSINESS, DEFAULT_AT_RISK_PERCENT, WALL, SlaDeclaration, sla_declarations

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EffectivePolicy:
    """The SLA that applies to one element of a process key: the model's, an override's, or both merged.

    `activity_id` is "" for the process as a whole. `source` is `model`, `override` or `model+override`.
    """

    process_key: str
    activity_id: str
    target: timedelta
    at_risk: timedelta
    calendar: str = WALL
    timezone: str = ""
    pause_on_suspend: bool = True
    escalations: list[dict[str, Any]] = field(default_factory=list)
    source: str = "model"
    override_id: int | None = None

    @property
    def name(self) -> str:
        """How breaches name the policy: `<process key>/<activity id or "process">`."""
        return f"{self.process_key}/{self.activity_id or 'process'}"

    def as_dict(self) -> dict[str, Any]:
        """JSON for the API (durations as seconds and ISO 8601)."""
        return {
            "process_key": self.process_key,
            "activity_id": self.activity_id or None,
            "policy": self.name,
            "target": iso_duration(self.target),
            "target_seconds": self.target.total_seconds(),
            "at_risk": iso_duration(self.at_risk),
            "at_risk_seconds": self.at_risk.total_seconds(),
            "calendar": self.calendar,
            "timezone": self.timezone or None,
            "pause_on_suspend": self.pause_on_suspend,
            "escalations": self.escalations,
            "source": self.source,
            "override_id": self.override_id,
        }


def iso_duration(value: timedelta) -> str:
    """`timedelta` as an ISO 8601 duration (`P1DT2H`, `PT30S`)."""
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    time_part = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    if not days and not time_part:
        return "PT0S"
    return "P" + (f"{days}D" if days else "") + (f"T{time_part}" if time_part else "")


def _from_model(process_key: str, declaration: SlaDeclaration) -> EffectivePolicy:
    return EffectivePolicy(
        process_key=process_key,
        activity_id=declaration.activity_id or "",
        target=declaration.target,
        at_risk=declaration.at_risk,
        calendar=declaration.calendar,
        timezone=declaration.timezone or "",
        pause_on_suspend=declaration.pause_on_suspend,
    )


def _merge(base: EffectivePolicy | None, override: SlaPolicy) -> EffectivePolicy | None:
    """The override laid over the model's policy; None when it disables the SLA or names no target."""
    if not override.enabled:
        return None
    target = override.target or (base.target if base else None)
    if target is None:
        return None
    if override.at_risk is not None:
        at_risk = override.at_risk
    elif base is not None and override.target is None:
        at_risk = base.at_risk
    else:
        at_risk = target * DEFAULT_AT_RISK_PERCENT / 100
    return EffectivePolicy(
        process_key=override.process_key,
        activity_id=override.activity_id,
        target=target,
        at_risk=at_risk,
        calendar=override.calendar or (base.calendar if base else WALL),
        timezone=override.timezone or (base.timezone if base else ""),
        pause_on_suspend=(override.pause_on_suspend if override.pause_on_suspend is not None
                          else base.pause_on_suspend if base else True),
        escalations=list(override.escalations or []),
        source="model+override" if base else "override",
        override_id=override.pk,
    )


def effective_policies(
    *, process_key: str, source: ModelSource | None, overrides: Iterable[SlaPolicy]
) -> dict[str, EffectivePolicy]:
    """Every SLA of a process key by activity id ("" = the process): model declarations, then overrides."""
    found: dict[str, EffectivePolicy] = {}
    if source is not None:
        for declaration in sla_declarations(source):
            if declaration.process_id == process_key:
                found[declaration.activity_id or ""] = _from_model(process_key, declaration)
    for override in overrides:
        merged = _merge(found.get(override.activity_id), override)
        if merged is None:
            found.pop(override.activity_id, None)
        else:
            found[override.activity_id] = merged
    return found


def overrides_for(process_key: str) -> list[SlaPolicy]:
    """The ops overrides of one process key (one query)."""
    return list(SlaPolicy.objects.filter(process_key=process_key))


_overrides_lock = threading.Lock()
_no_overrides_since: dict[str, float] = {}


def overrides_for_step(process_key: str) -> list[SlaPolicy]:
    """The overrides as the step pipeline sees them: "none" is remembered for
    `PATCHBAY_SLA_POLICY_CACHE_MS` per process and process key, rows are read every time.

    Every step asks, most processes have no override, and that query was a tenth of a service
    task's statements. Only the absence is cached: a remembered row could be deleted meanwhile and a
    clock referring to it would break the step. An override created in this process applies at once
    (`forget_cached_overrides`); other processes see it within the TTL (0 turns the cache off).
    """
    ttl = settings.PATCHBAY_SLA_POLICY_CACHE_MS / 1000
    now = time.monotonic()
    with _overrides_lock:
        since = _no_overrides_since.get(process_key)
    if since is not None and now - since < ttl:
        return []
    rows = overrides_for(process_key)
    if not rows and ttl > 0:
        with _overrides_lock:
            _no_overrides_since[process_key] = now
    return rows


def forget_cached_overrides(**kwargs: object) -> None:
    """Drop the step pipeline's cached overrides (a policy was saved or deleted in this process)."""
    with _overrides_lock:
        _no_overrides_since.clear()


# -- clocks ------------------------------------------------------------------------------------------

def working_time(calendar: BusinessCalendar, timezone: str = "") -> WorkingTime:
    """A calendar row as the arithmetic's value; `timezone` (if given) replaces the calendar's zone."""
    return WorkingTime(
        zone=timezone or calendar.timezone,
        weekdays=frozenset(int(d) for d in calendar.working_days),
        start=calendar.work_start,
        end=calendar.work_end,
        country=calendar.country,
        subdivision=calendar.subdivision,
        closed_days=parse_closed_days(list(calendar.extra_holidays or [])),
    )


def calendar_row_name(calendar: str) -> str | None:
    """The `BusinessCalendar.name` a policy's calendar refers to (None for wall time)."""
    if calendar == WALL:
        return None
    return str(settings.PATCHBAY_SLA_DEFAULT_CALENDAR) if calendar == BUSINESS else calendar


def clocks_for(policies: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Clock]:
    """A clock per (calendar, timezone) pair, loading the calendars they name in one query.

    A calendar name that no row has (a model naming a calendar ops never created) is logged as an
    error and counted in wall time: the SLA still runs, and the log says what to fix.
    """
    pairs = set(policies)
    names = {calendar_row_name(c) for c, _ in pairs} - {None}
    rows = {row.name: row for row in BusinessCalendar.objects.filter(name__in=names)} if names else {}
    clocks: dict[tuple[str, str], Clock] = {}
    for calendar, timezone in pairs:
        row_name = calendar_row_name(calendar)
        row = rows.get(row_name) if row_name else None
        if row_name and row is None:
            logger.error("SLA calendar %r does not exist; counting wall time", row_name)
        clocks[(calendar, timezone)] = working_time(row, timezone) if row is not None else WallClock()
    return clocks


def deadline_times(policy: EffectivePolicy, clock: Clock, started_at: datetime) -> tuple[datetime, datetime]:
    """(at-risk time, due time) of work that started at `started_at` under `policy`."""
    scale = clock.scale if isinstance(clock, WorkingTime) else (lambda d: d)
    return clock.add(started_at, scale(policy.at_risk)), clock.add(started_at, scale(policy.target))
