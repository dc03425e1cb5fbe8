"""Effect handlers: how other apps act on a step's result without the runtime depending on them.

`apps.worklist` (work items) and `apps.integrations` (outbox rows for service calls) register a
handler here when they load. The pipeline calls every handler with `(instance, result)` after it saved
the step, inside the step's transaction and under the instance lock: a handler writes rows (they
commit or roll back with the step) and enqueues Celery tasks only through `transaction.on_commit`.
A handler never does network I/O. An exception in a handler rolls the whole step back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apps.instances.models import ProcessInstance
    from bpmn import StepResult

EffectHandler = Callable[["ProcessInstance", "StepResult"], None]

_lock = threading.Lock()
_handlers: list[EffectHandler] = []


def register_effect_handler(handler: EffectHandler) -> EffectHandler:
    """Add a handler (registering the same one twice is harmless); usable as a decorator."""
    with _lock:
        if handler not in _handlers:
            _handlers.append(handler)
    return handler


def unregister_effect_handler(handler: EffectHandler) -> None:
    """Remove a handler (for tests); unknown handlers are ignored."""
    with _lock:
        if handler in _handlers:
            _handlers.remove(handler)


def effect_handlers() -> tuple[EffectHandler, ...]:
    """The registered handlers in registration order."""
    with _lock:
        return tuple(_handlers)


def run_effect_handlers(instance: ProcessInstance, result: StepResult) -> None:
    """Call every handler in registration order (the pipeline does this once per successful step)."""
    for handler in effect_handlers():
        handler(instance, result)
