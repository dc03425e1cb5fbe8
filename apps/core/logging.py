"""Structured logs: one JSON object per line, ready for any log shipper.

Referenced by `settings.LOGGING`. Context that identifies a process run is passed through `extra`:

    logger.info("timer fired", extra={"instance_id": str(instance.pk), "business_key": key})

or, for every line logged while a block runs (the step pipeline does this around each step, so
lines from the engine, effect handlers and connectors all carry the instance):

    with log_context(instance_id=str(instance.pk)):
        bind_log_context(business_key=instance.business_key)
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# Keys of `extra` copied into the JSON object when a caller passes them.
CONTEXT_KEYS = ("instance_id", "business_key", "definition_key", "activity_id", "work_item_id", "task_id")

# Context of the block running now (a contextvar: threads and Celery tasks each have their own).
_context: ContextVar[dict[str, Any] | None] = ContextVar("patchbay_log_context", default=None)


@contextmanager
def log_context(**values: Any) -> Iterator[None]:
    """Add `values` (keys of CONTEXT_KEYS) to every line logged in this block; restored afterwards."""
    token = _context.set({**(_context.get() or {}), **values})
    try:
        yield
    finally:
        _context.reset(token)


def bind_log_context(**values: Any) -> None:
    """Add values to the current `log_context` block (e.g. the business key, once the row is read)."""
    current = _context.get()
    if current is not None:
        current.update(values)


class JsonFormatter(logging.Formatter):
    """Format a record as one line of JSON: `ts`, `level`, `logger`, `message` and known context keys.

    `ts` is ISO 8601 in UTC with milliseconds. An exception, when logged, goes under `exc_info` as
    the formatted traceback, so a line never spans several lines of the log.
    """

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        bound = _context.get() or {}
        for key in CONTEXT_KEYS:
            value = record.__dict__.get(key)
            if value is None:
                value = bound.get(key)
            if value is not None:
                payload[key] = value
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(payload, default=str, ensure_ascii=False)
