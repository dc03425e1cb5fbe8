"""Ops actions on external systems: pause and resume (the API's `/systems/{name}/pause|resume/`)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apps.core.errors import NotFound
from apps.integrations import protection, registry
from apps.integrations.models import CallStatus, ExternalSystem, OutboundCall


def _known(name: str) -> None:
    if name not in registry.connectors() and not ExternalSystem.objects.filter(name=name).exists():
        raise NotFound(f"External system {name!r} does not exist.")


def system_pause(*, name: str) -> ExternalSystem:
    """Stop starting calls of the system: they stay pending (nothing is lost) until it is resumed.

    Calls already running finish normally. Pausing a paused system changes nothing.
    """
    _known(name)
    with transaction.atomic():
        system = protection.system_lock(name)
        if not system.paused:
            system.paused = True
            system.paused_at = timezone.now()
            system.save(update_fields=["paused", "paused_at"])
        return system


def system_resume(*, name: str) -> ExternalSystem:
    """Start the system's calls again: its waiting calls become due now, the outbox sweeper sends them.

    Calls in back-off (`retrying`) keep their time. Resuming a running system changes nothing.
    """
    _known(name)
    now = timezone.now()
    with transaction.atomic():
        system = protection.system_lock(name)
        if system.paused:
            system.paused = False
            system.paused_at = None
            system.save(update_fields=["paused", "paused_at"])
            OutboundCall.objects.filter(system=name, status=CallStatus.PENDING).update(next_attempt_at=now)
        return system
