"""The JSON log formatter."""

from __future__ import annotations

import json
import logging

from apps.core.logging import JsonFormatter


def _record(message, *args, exc_info=None, **extra):
    record = logging.LogRecord("apps.instances", logging.WARNING, __file__, 1, message, args, exc_info)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_one_json_object_per_line_with_the_basic_fields():
    line = JsonFormatter().format(_record("step %s took %d ms", "start", 12))
    assert "\n" not in line
    payload = json.loads(line)
    assert payload["level"] == "WARNING"
    assert payload["logger"] == "apps.instances"
    assert payload["message"] == "step start took 12 ms"
    assert payload["ts"].endswith("+00:00")
    assert "instance_id" not in payload


def test_context_from_extra_is_included():
    payload = json.loads(JsonFormatter().format(_record("timer fired", instance_id=42, business_key="ORD-1")))
    assert payload["instance_id"] == 42
    assert payload["business_key"] == "ORD-1"


def test_exception_stays_on_one_line():
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = _record("failed", exc_info=sys.exc_info())
    line = JsonFormatter().format(record)
    assert "\n" not in line
    assert "ValueError: boom" in json.loads(line)["exc_info"]


def test_settings_use_the_formatter():
    from django.conf import settings

    assert settings.LOGGING["formatters"]["json"]["()"] == "apps.core.logging.JsonFormatter"


def test_logger_with_extra_through_a_handler(caplog):
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("patchbay.test")
    logger.warning("hello", extra={"instance_id": "abc"})
    assert caplog.records[-1].instance_id == "abc"
    assert json.loads(handler.format(caplog.records[-1]))["instance_id"] == "abc"


def test_spiffworkflow_builds_no_log_records_for_task_state_changes() -> None:
    # SpiffWorkflow decides by each logger's own level (not the inherited one) whether to build a
    # record with the task's data on every state change; below INFO that cost ~20% of a step.
    for name in ("spiff.task", "spiff.workflow"):
        assert logging.getLogger(name).level >= logging.INFO, name
