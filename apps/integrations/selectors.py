"""Reads of the integrations: external systems with their load, and the outbox for ops."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet

from apps.core.errors import Forbidden, NotFound
from apps.core.roles import OPS, has_role
from apps.integrations import protection, registry
from apps.integrations.models import OPEN_STATUSES, BreakerState, CallStatus, ExternalSystem, OutboundCall


@dataclass(frozen=True)
class SystemView:
    """One external system as the API shows it: state, limits and how many calls it has."""

    name: str
    queue: str
    operations: list[str]
    paused: bool
    breaker_state: str
    consecutive_failures: int
    opened_at: Any
    max_concurrency: int
    failure_threshold: int
    failure_window_seconds: float
    cooldown_seconds: float
    pending: int
    retrying: int
    running: int


def _load() -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    rows = OutboundCall.objects.filter(status__in=OPEN_STATUSES).values("system", "status").annotate(n=Count("id"))
    for row in rows:
        counts.setdefault(row["system"], {})[row["status"]] = row["n"]
    return counts


def system_list() -> list[SystemView]:
    """Every registered system (and any with a row but no connector now), by name; three queries."""
    rows = {system.name: system for system in ExternalSystem.objects.all()}
    connectors = registry.connectors()
    counts = _load()
    names = sorted(set(rows) | set(connectors))
    return [_view(name, rows.get(name), counts.get(name, {})) for name in names]


def system_get(*, name: str) -> SystemView:
    """One system; `NotFound` when neither registered nor known to the database."""
    for view in system_list():
        if view.name == name:
            return view
    raise NotFound(f"External system {name!r} does not exist.")


def _view(name: str, row: ExternalSystem | None, counts: dict[str, int]) -> SystemView:
    defaults = protection.system_defaults(name)
    connector = registry.connectors().get(name)
    operations = sorted(f"{name}.{short}" for short in (connector.operations if connector else {}))
    return SystemView(
        name=name,
        queue=connector.queue if connector else name,
        operations=operations,
        paused=row.paused if row else False,
        breaker_state=row.breaker_state if row else BreakerState.CLOSED,
        consecutive_failures=row.consecutive_failures if row else 0,
        opened_at=row.opened_at if row else None,
        max_concurrency=int(row.max_concurrency if row else defaults["max_concurrency"]),
        failure_threshold=int(row.failure_threshold if row else defaults["failure_threshold"]),
        failure_window_seconds=float(row.failure_window_seconds if row else defaults["failure_window_seconds"]),
        cooldown_seconds=float(row.cooldown_seconds if row else defaults["cooldown_seconds"]),
        pending=counts.get(CallStatus.PENDING, 0),
        retrying=counts.get(CallStatus.RETRYING, 0),
        running=counts.get(CallStatus.RUNNING, 0),
    )


def service_call_list(
    *, user: Any, instance_id: uuid.UUID | None = None, status: str | None = None, operation: str | None = None
) -> QuerySet[OutboundCall]:
    """Outbound calls, newest first, optionally of one instance / status / operation (ops, admin)."""
    if not has_role(user, OPS):
        raise Forbidden("Only ops and admins see service calls.")
    queryset = OutboundCall.objects.defer("parameters", "result")
    if instance_id is not None:
        queryset = queryset.filter(instance_id=instance_id)
    if status:
        queryset = queryset.filter(status=status)
    if operation:
        queryset = queryset.filter(operation=operation)
    return queryset.order_by("-created_at", "-pk")


def service_call_get(*, user: Any, call_id: int) -> OutboundCall:
    """One outbound call with its parameters and result (ops, admin); `NotFound` when absent."""
    try:
        call = service_call_list(user=user).defer(None).filter(pk=call_id).first()
    except (ValidationError, ValueError):
        call = None
    if call is None:
        raise NotFound(f"Service call {call_id} does not exist.")
    return call
