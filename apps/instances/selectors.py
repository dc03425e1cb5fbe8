"""Reads of the runtime, each with the caller's access rule built in.

Access (API.md): analysts, ops and admins see every instance; an agent sees the instances they
started (later issues add the instances holding their work items). A row the caller may not see is
`NotFound`, never `Forbidden`, so its existence does not leak. Incidents are for ops and admins.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, QuerySet

from apps.core.errors import Forbidden, NotFound
from apps.core.roles import AGENT, ANALYST, OPS, has_role
from apps.instances.models import Incident, InstanceEvent, ProcessInstance


def _visible_to(user: Any) -> Q | None:
    """The filter of the instances `user` may see; None = all of them."""
    if has_role(user, ANALYST, OPS):
        return None
    if has_role(user, AGENT):
        return Q(started_by=user)
    return Q(pk__in=[])


def _instances() -> QuerySet[ProcessInstance]:
    # Lists and details never need the snapshot nor the definition's bytes.
    return ProcessInstance.objects.select_related("definition", "started_by").defer(
        "snapshot", "definition__source", "definition__warnings"
    )


def instance_list(
    *, user: Any, process_key: str | None = None, status: str | None = None, business_key: str | None = None
) -> QuerySet[ProcessInstance]:
    """The instances `user` may see, newest first, optionally filtered by key, status and business key."""
    queryset = _instances()
    visible = _visible_to(user)
    if visible is not None:
        queryset = queryset.filter(visible)
    if process_key:
        queryset = queryset.filter(process_key=process_key)
    if status:
        queryset = queryset.filter(status=status)
    if business_key:
        queryset = queryset.filter(business_key=business_key)
    return queryset.order_by("-started_at", "-pk")


def instance_get(*, user: Any, instance_id: uuid.UUID | str) -> ProcessInstance:
    """One instance `user` may see, with its incidents; `NotFound` when absent or not visible."""
    queryset = instance_list(user=user).prefetch_related(
        Prefetch("incidents", queryset=Incident.objects.order_by("-opened_at", "-pk"))
    )
    try:
        instance = queryset.filter(pk=instance_id).first()
    except (ValidationError, ValueError):
        instance = None  # not a UUID: the same answer as an unknown id
    if instance is None:
        raise NotFound(f"Instance {instance_id} does not exist.")
    return instance


def instance_events(*, instance: ProcessInstance) -> QuerySet[InstanceEvent]:
    """The instance's audit trail in `seq` order (the caller already checked access to the instance)."""
    return InstanceEvent.objects.filter(instance=instance).order_by("seq")


def incident_list(*, user: Any, status: str | None = None) -> QuerySet[Incident]:
    """Incidents, newest first, optionally of one status; only ops and admins may list them."""
    if not has_role(user, OPS):
        raise Forbidden("Only ops and admins see incidents.")
    queryset = Incident.objects.all()
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-opened_at", "-pk")


def incident_get(*, user: Any, incident_id: int) -> Incident:
    """One incident for ops and admins; `NotFound` when there is none."""
    incident = incident_list(user=user).filter(pk=incident_id).first()
    if incident is None:
        raise NotFound(f"Incident {incident_id} does not exist.")
    return incident
