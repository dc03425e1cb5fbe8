"""Writes of the SLA app: ops policy overrides and business calendars, validated before save.

Every mistake is an `ApiError` 400 whose `details` name the field: `invalid_duration` (target,
at_risk), `unknown_calendar`, `unknown_timezone`, `invalid_escalation`, `unknown_process`,
`no_target` (an override of an element the model gives no SLA must name a target),
`invalid_calendar` (working days and hours). Overrides apply to clocks started after the save;
running clocks keep the policy they started with.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction

from apps.core.errors import ApiError, Conflict
from apps.definitions.models import ProcessDefinition
from apps.instances.runtime import model_source_for
from apps.sla.escalations import check_escalations
from apps.sla.models import BusinessCalendar, SlaPolicy
from apps.sla.policies import effective_policies, forget_cached_overrides
from bpmn.sla import BUSINESS, WALL, SlaSyntaxError, check_timezone, parse_at_risk, parse_duration

OVERRIDE_FIELDS = ("enabled", "target", "at_risk", "calendar", "timezone", "pause_on_suspend", "escalations")


def _invalid(field: str, code: str, message: str) -> ApiError:
    return ApiError(f"{field}: {message}", code=code, details=[{"field": field, "code": code, "message": message}])


def _latest_definition(process_key: str) -> ProcessDefinition:
    definition = ProcessDefinition.objects.filter(key=process_key).defer("source").order_by("-version").first()
    if definition is None:
        raise _invalid("process_key", "unknown_process", f"no process {process_key!r} is deployed")
    return definition


def _model_target(process_key: str, activity_id: str) -> dt.timedelta | None:
    source = model_source_for(_latest_definition(process_key))
    policy = effective_policies(process_key=process_key, source=source, overrides=()).get(activity_id)
    return policy.target if policy else None


def _check_calendar(name: str) -> str:
    if name in ("", WALL, BUSINESS) or BusinessCalendar.objects.filter(name=name).exists():
        return name
    raise _invalid("calendar", "unknown_calendar", f"{name!r} is not wall, business or a business calendar's name")


def _check_tz(name: str) -> str:
    if not name:
        return ""
    try:
        return check_timezone(name)
    except SlaSyntaxError as exc:
        raise _invalid("timezone", "unknown_timezone", exc.message) from exc


def _durations(data: dict[str, Any], model_target: dt.timedelta | None) -> tuple[dt.timedelta | None, ...]:
    try:
        target = parse_duration(data["target"], field="target") if data.get("target") else None
        base = target or model_target
        if data.get("at_risk") and base is None:
            raise _invalid("at_risk", "no_target", "an at-risk threshold needs a target")
        at_risk = parse_at_risk(data["at_risk"], base, field="at_risk") if data.get("at_risk") and base else None
    except SlaSyntaxError as exc:
        raise _invalid(exc.field, "invalid_duration", exc.message) from exc
    return target, at_risk


def _cleaned(process_key: str, activity_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """The override's fields, validated against the deployed model; raises `ApiError` 400."""
    model_target = _model_target(process_key, activity_id)
    target, at_risk = _durations(data, model_target)
    enabled = bool(data.get("enabled", True))
    if enabled and target is None and model_target is None:
        message = f"the model declares no SLA for {activity_id or 'the process'}: give a target"
        raise _invalid("target", "no_target", message)
    pause = data.get("pause_on_suspend")
    return {
        "enabled": enabled,
        "target": target,
        "at_risk": at_risk,
        "calendar": _check_calendar(str(data.get("calendar") or "")),
        "timezone": _check_tz(str(data.get("timezone") or "")),
        "pause_on_suspend": None if pause is None else bool(pause),
        "escalations": check_escalations(data.get("escalations")),
    }


def sla_policy_save(*, process_key: str, activity_id: str = "", data: dict[str, Any],
                    policy: SlaPolicy | None = None) -> SlaPolicy:
    """Create the override of (process key, activity), or update `policy`, from API-shaped `data`.

    A second override of the same element is `Conflict` (`policy_exists`); update that one instead.
    """
    fields = _cleaned(process_key, activity_id, data)
    try:
        with transaction.atomic():
            if policy is None:
                return SlaPolicy.objects.create(process_key=process_key, activity_id=activity_id, **fields)
            for name, value in fields.items():
                setattr(policy, name, value)
            policy.save(update_fields=[*fields, "updated_at"])
            return policy
    except IntegrityError as exc:
        raise Conflict(f"{process_key}/{activity_id or 'process'} already has an override; update it",
                       code="policy_exists") from exc


def sla_policies_replace(*, process_key: str, items: list[dict[str, Any]]) -> list[SlaPolicy]:
    """Replace every override of a process key with `items` (PUT ?process_key=), all or nothing.

    Each item is `{"activity_id"?, ...override fields}`; a mistake names `policies[i].<field>`.
    """
    cleaned = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        activity_id = str(item.get("activity_id") or "")
        if activity_id in seen:
            raise _invalid(f"policies[{index}].activity_id", "duplicate_policy", f"{activity_id!r} appears twice")
        seen.add(activity_id)
        try:
            cleaned.append(SlaPolicy(process_key=process_key, activity_id=activity_id,
                                     **_cleaned(process_key, activity_id, item)))
        except ApiError as exc:
            for detail in exc.details:
                detail["field"] = f"policies[{index}].{detail['field']}"
            raise
    with transaction.atomic():
        SlaPolicy.objects.filter(process_key=process_key).delete()
        rows = SlaPolicy.objects.bulk_create(cleaned)
    forget_cached_overrides()  # bulk_create sends no post_save
    return rows


def sla_policy_delete(*, policy: SlaPolicy) -> None:
    """Remove an override: the model's declaration (if any) applies again to clocks started from now."""
    policy.delete()


# -- business calendars ----------------------------------------------------------------------------

def _calendar_fields(data: dict[str, Any]) -> dict[str, Any]:
    days = data.get("working_days", [0, 1, 2, 3, 4])
    if not isinstance(days, list) or not days or not all(isinstance(d, int) and 0 <= d <= 6 for d in days):
        raise _invalid("working_days", "invalid_calendar", "a non-empty list of weekdays 0 (Monday) to 6 (Sunday)")
    start, end = data.get("work_start", dt.time(8)), data.get("work_end", dt.time(17))
    if not isinstance(start, dt.time) or not isinstance(end, dt.time) or end <= start:
        raise _invalid("work_end", "invalid_calendar", "working hours must end after they start")
    extra = data.get("extra_holidays", [])
    for value in extra:
        try:
            dt.date.fromisoformat(str(value))
        except ValueError as exc:
            raise _invalid("extra_holidays", "invalid_calendar", f"{value!r} is not a date (YYYY-MM-DD)") from exc
    return {"working_days": sorted(set(days)), "work_start": start, "work_end": end,
            "timezone": _check_tz(str(data.get("timezone") or "Europe/Vienna")),
            "country": _check_country(str(data.get("country", "AT") or ""), str(data.get("subdivision") or "")),
            "subdivision": str(data.get("subdivision") or ""), "extra_holidays": [str(v) for v in extra]}


def _check_country(country: str, subdivision: str) -> str:
    if not country:
        return ""
    import holidays  # noqa: PLC0415 - only needed to validate

    try:
        holidays.country_holidays(country.upper(), subdiv=subdivision or None)
    except NotImplementedError as exc:
        field = "subdivision" if subdivision else "country"
        raise _invalid(field, "unknown_country", str(exc)) from exc
    return country.upper()


def business_calendar_save(*, data: dict[str, Any], calendar: BusinessCalendar | None = None) -> BusinessCalendar:
    """Create or update a business calendar; the name is unique (`Conflict` `calendar_exists`)."""
    fields = _calendar_fields(data)
    try:
        with transaction.atomic():
            if calendar is None:
                return BusinessCalendar.objects.create(name=data["name"], **fields)
            for name, value in fields.items():
                setattr(calendar, name, value)
            calendar.save(update_fields=[*fields, "updated_at"])
            return calendar
    except IntegrityError as exc:
        raise Conflict(f"a calendar named {data.get('name')!r} exists", code="calendar_exists") from exc


def business_calendar_delete(*, calendar: BusinessCalendar) -> None:
    """Delete a calendar no override names (`Conflict` `calendar_in_use` otherwise)."""
    if SlaPolicy.objects.filter(calendar=calendar.name).exists():
        raise Conflict(f"overrides still use the calendar {calendar.name!r}", code="calendar_in_use")
    calendar.delete()
