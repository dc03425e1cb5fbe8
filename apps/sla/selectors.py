"""Reads of the SLA app for the API: effective policies, overrides, calendars, breaches."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db.models import Q, QuerySet

from apps.core.errors import NotFound
from apps.definitions.models import ProcessDefinition
from apps.instances.runtime import model_source_for
from apps.sla.models import BusinessCalendar, Deadline, SlaBreach, SlaPolicy
from apps.sla.policies import EffectivePolicy, effective_policies, overrides_for


def policies_for_process(*, process_key: str) -> list[EffectivePolicy]:
    """The SLAs that clocks of `process_key` start with now: its latest model plus the ops overrides.

    Raises `NotFound` when no definition of the key is deployed.
    """
    definition = ProcessDefinition.objects.filter(key=process_key).defer("source").order_by("-version").first()
    if definition is None:
        raise NotFound(f"No process {process_key!r} is deployed.")
    found = effective_policies(process_key=process_key, source=model_source_for(definition),
                               overrides=overrides_for(process_key))
    return [found[key] for key in sorted(found)]


def policy_overrides(*, process_key: str | None = None) -> QuerySet[SlaPolicy]:
    """Ops overrides, optionally of one process key, by key and activity."""
    rows = SlaPolicy.objects.all()
    return rows.filter(process_key=process_key) if process_key else rows


def policy_override_get(*, policy_id: int) -> SlaPolicy:
    """One override, or `NotFound`."""
    found = SlaPolicy.objects.filter(pk=policy_id).first()
    if found is None:
        raise NotFound(f"SLA override {policy_id} does not exist.")
    return found


def calendar_list() -> QuerySet[BusinessCalendar]:
    """Every business calendar by name."""
    return BusinessCalendar.objects.all()


def calendar_get(*, calendar_id: int) -> BusinessCalendar:
    """One business calendar, or `NotFound`."""
    found = BusinessCalendar.objects.filter(pk=calendar_id).first()
    if found is None:
        raise NotFound(f"Business calendar {calendar_id} does not exist.")
    return found


def breach_list(*, process_key: str | None = None, since: datetime | None = None, kind: str | None = "breached",
                activity_id: str | None = None, instance_id: uuid.UUID | None = None) -> QuerySet[SlaBreach]:
    """Recorded SLA events, newest first: breaches by default, `kind="at_risk"` for warnings, None for both.

    `since` filters on when the event was recorded (`breached_at` in the API).
    """
    rows = SlaBreach.objects.all()
    if kind:
        rows = rows.filter(kind=kind)
    if process_key:
        rows = rows.filter(process_key=process_key)
    if since is not None:
        rows = rows.filter(recorded_at__gte=since)
    if activity_id is not None:
        rows = rows.filter(activity_id=activity_id)
    if instance_id:
        rows = rows.filter(instance_id=instance_id)
    return rows.order_by("-recorded_at", "-id")


OPEN_ITEM_SORTS = {
    "due": ("due_at",), "-due": ("-due_at",),
    "process": ("process_key", "activity_id", "due_at"), "-process": ("-process_key", "-activity_id", "due_at"),
    "activity": ("activity_id", "due_at"), "-activity": ("-activity_id", "due_at"),
    "group": ("group", "due_at"), "-group": ("-group", "due_at"),
    "started": ("started_at",), "-started": ("-started_at",),
}


def open_sla_items(*, process_key: str | None = None, activity_id: str | None = None, group: str | None = None,
                   state: str | None = None, sort: str = "due", limit: int = 200) -> list[Deadline]:
    """Running clocks that are at risk or breached (the dashboard's first table), in one query.

    `state` is `breached`, `at_risk` (warned, not breached yet) or None for both; `sort` one of
    `OPEN_ITEM_SORTS` (a `-` reverses it).
    """
    rows = Deadline.objects.filter(stopped_at__isnull=True).filter(
        Q(breached_at__isnull=False) | Q(at_risk_fired_at__isnull=False))
    if state == "breached":
        rows = rows.filter(breached_at__isnull=False)
    elif state == "at_risk":
        rows = rows.filter(breached_at__isnull=True)
    if process_key:
        rows = rows.filter(process_key=process_key)
    if activity_id:
        rows = rows.filter(activity_id=activity_id)
    if group:
        rows = rows.filter(group=group)
    rows = rows.select_related("instance").only(
        "instance__id", "instance__business_key", "instance__status", "process_key", "activity_id", "group",
        "policy", "started_at", "at_risk_at", "due_at", "paused_at", "at_risk_fired_at", "breached_at")
    return list(rows.order_by(*OPEN_ITEM_SORTS.get(sort, OPEN_ITEM_SORTS["due"]))[:limit])


def open_sla_filter_choices() -> dict[str, list[str]]:
    """Processes, activities and groups that have running clocks (the dashboard's filter lists). One query."""
    rows = (Deadline.objects.filter(stopped_at__isnull=True).order_by()
            .values_list("process_key", "activity_id", "group").distinct())
    processes, activities, groups = set(), set(), set()
    for process_key, activity_id, group in rows:
        processes.add(process_key)
        if activity_id:
            activities.add(activity_id)
        if group:
            groups.add(group)
    return {"processes": sorted(processes), "activities": sorted(activities), "groups": sorted(groups)}
