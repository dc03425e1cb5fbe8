"""Post-deploy hooks: how other apps react to a new definition without `definitions` depending on them.

`apps.instances` registers a hook (indexing message start events and start-timer schedules) when it
loads; `definition_deploy` runs every hook after the deploying transaction commits, with the new
definition's id. A failing hook is logged and the others still run: hooks must be idempotent and
have a reconciling backstop of their own (the instances sweep re-indexes what a hook missed).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger(__name__)

DeployedHook = Callable[[int], None]

_lock = threading.Lock()
_hooks: list[DeployedHook] = []


def register_deployed_hook(hook: DeployedHook) -> DeployedHook:
    """Add a hook called with the id of each newly deployed definition; usable as a decorator."""
    with _lock:
        if hook not in _hooks:
            _hooks.append(hook)
    return hook


def unregister_deployed_hook(hook: DeployedHook) -> None:
    """Remove a hook (for tests); unknown hooks are ignored."""
    with _lock:
        if hook in _hooks:
            _hooks.remove(hook)


def run_deployed_hooks(definition_id: int) -> None:
    """Call every registered hook in registration order; an exception is logged, not raised."""
    with _lock:
        hooks = tuple(_hooks)
    for hook in hooks:
        try:
            hook(definition_id)
        except Exception:
            logger.exception("post-deploy hook failed", extra={"definition_id": definition_id})


def run_deployed_hooks_on_commit(definition_id: int) -> None:
    """Run the hooks once the current transaction commits (at once outside a transaction)."""
    transaction.on_commit(lambda: run_deployed_hooks(definition_id))
