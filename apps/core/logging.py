"""Structured logs: one JSON object per line, ready for any log shipper.

Referenced by `settings.LOGGING`. Context that identifies a process run is passed through `extra`:

    logger.info("timer fired", extra={"instance_id": str(instance.pk), "business_key": key})
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

# Keys of `extra` copied into the JSON object when a caller passes them.
CONTEXT_KEYS = ("instance_id", "business_key", "definition_key", "activity_id", "work_item_id", "task_id")


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
        for key in CONTEXT_KEYS:
            value = record.__dict__.get(key)
            if value is not None:
                payload[key] = value
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(payload, default=str, ensure_ascii=False)
