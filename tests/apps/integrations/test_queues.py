"""`make run`'s worker consumes the engine queue and every external system's queue."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from django.conf import settings

from apps.integrations import registry
from apps.integrations.wiring import check_system_queues

ROOT = Path(__file__).resolve().parents[3]


def load_run_stack() -> Any:
    spec = importlib.util.spec_from_file_location("run_stack_queues", ROOT / "scripts" / "run_stack.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_stack_queues"] = module
    spec.loader.exec_module(module)
    return module


def test_the_demo_worker_consumes_every_system_queue(monkeypatch: Any) -> None:
    monkeypatch.delenv("PATCHBAY_SYSTEM_QUEUES", raising=False)
    run_stack = load_run_stack()

    queues = run_stack.worker_queues().split(",")
    worker = next(c for c in run_stack.default_children() if c.name == "worker")

    assert queues[:2] == ["engine", "celery"]
    assert {c.queue for c in registry.connectors().values()} <= set(queues)
    assert run_stack.DEFAULT_SYSTEM_QUEUES.split(",") == settings.PATCHBAY_SYSTEM_QUEUES
    assert worker.argv[worker.argv.index("-Q") + 1] == run_stack.worker_queues()


def test_a_connector_queue_no_worker_consumes_is_reported(settings: Any) -> None:
    settings.PATCHBAY_SYSTEM_QUEUES = [q for q in settings.PATCHBAY_SYSTEM_QUEUES if q != "http"]

    [warning] = check_system_queues()

    assert warning.id == "integrations.W001" and "'http'" in warning.msg
