"""Effect handlers: how other apps act on a step's result without the runtime depending on them.

`apps.worklist` (work items) and `apps.integrations` (outbox rows for service calls) register a
handler here when they load. The pipeline calls every handler with `(instance, result)` inside the
step's transaction and under the instance lock, after the instance object holds the step's outcome
and before the row is written (so a step costs one UPDATE, or one INSERT for a new instance: foreign
keys are checked at commit). A handler writes rows (they commit or roll back with the step) and
enqueues Celery tasks only through `transaction.on_commit`; it must not read the instance row back
from the database. A handler never does network I/O. An exception in a handler rolls the whole step
back.
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
_fields: dict[EffectHandler, tuple[str, ...]] = {}


def register_effect_handler(handler: EffectHandler, *, fields: tuple[str, ...] = ()) -> EffectHandler:
    """Add a handler (registering the same one twice is harmless); usable as a decorator.

    `fields` are the instance fields the handler may set on the row object it is given: the pipeline
    saves them with the step's own UPDATE (handlers run before the row is written).
    """
    with _lock:
        if handler not in _handlers:
            _handlers.append(handler)
        _fields[handler] = tuple(fields)
    return handler


def unregister_effect_handler(handler: EffectHandler) -> None:
    """Remove a handler (for tests); unknown handlers are ignored."""
    with _lock:
        if handler in _handlers:
            _handlers.remove(handler)
            _fields.pop(handler, None)


def effect_handlers() -> tuple[EffectHandler, ...]:
    """The registered handlers in registration order."""
    with _lock:
        return tuple(_handlers)


def run_effect_handlers(instance: ProcessInstance, result: StepResult) -> list[str]:
    """Call every handler in registration order (the pipeline does this once per successful step);
    return the instance fields they may have set, for the pipeline to save."""
    fields: list[str] = []
    for handler in effect_handlers():
        handler(instance, result)
        fields.extend(_fields.get(handler, ()))
    return fields
