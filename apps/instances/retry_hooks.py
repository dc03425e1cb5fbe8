"""Incident-retry hooks: how another app retries an incident whose failed work is not an engine step.

An incident's `command` names what a retry runs. Engine commands (`start`, `fire_timers`, ...) run
again through the step pipeline; other kinds belong to the app that opened the incident - e.g.
`apps.integrations` opens `service_call_failed` incidents with `{"kind": "retry_service_call", ...}`
and registers a hook that re-arms the outbound call. The runtime dispatches to the hook without
importing that app (the dependency points from it to us, never back).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from apps.instances.models import Incident

# hook(incident=..., actor=..., variables=...) -> the incident as it then stands.
RetryHook = Callable[..., "Incident"]

_lock = threading.Lock()
_hooks: dict[str, RetryHook] = {}


def register_retry_hook(kind: str, hook: RetryHook) -> RetryHook:
    """Make `hook` the retry of incidents whose command kind is `kind` (re-registering replaces it)."""
    with _lock:
        _hooks[kind] = hook
    return hook


def unregister_retry_hook(kind: str) -> None:
    """Forget the hook of `kind` (for tests); an unknown kind is ignored."""
    with _lock:
        _hooks.pop(kind, None)


def retry_hook_for(kind: str) -> RetryHook | None:
    """The hook registered for `kind`, or None when a retry is an ordinary engine step."""
    with _lock:
        return _hooks.get(kind)


def run_retry_hook(
    hook: RetryHook, *, incident: Incident, actor: User | None, variables: dict[str, Any] | None
) -> Incident:
    """Call `hook` with the keyword arguments every hook takes (a typed seam for `incident_retry`)."""
    return hook(incident=incident, actor=actor, variables=variables)
