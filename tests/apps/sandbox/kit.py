"""Helpers of the sandbox and connector tests: the sandbox on a live server, call contexts, waiting.

Import the `systems` fixture into a test module to use it (`from tests.apps.sandbox.kit import systems`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from apps.integrations.contract import CallContext
from apps.integrations.http.soap import soap_clients_clear

SYSTEMS = ("crm", "credit", "billing", "network", "notify", "payment", "regulator")


class Sandbox:
    """The sandbox served by the test's live server: its URL and its knobs."""

    def __init__(self, url: str, drop: Path) -> None:
        self.url = url
        self.drop = drop

    def knobs(self, system: str, **values: Any) -> dict[str, Any]:
        """Change a system's knobs over its config endpoint (as a demo script would)."""
        response = httpx.post(f"{self.url}/sandbox/{system}/config", json=values, timeout=5)
        assert response.status_code == 200, response.text
        return dict(response.json())


@pytest.fixture
def systems(live_server: Any, settings: Any, tmp_path: Path) -> Iterator[Sandbox]:
    """Every system's base URL and the callback URL point at the live server; callbacks come at once."""
    settings.PATCHBAY_SYSTEM_URLS = {name: f"{live_server.url}/sandbox/{name}/" for name in SYSTEMS}
    settings.PATCHBAY_CALLBACK_URL = live_server.url
    settings.PATCHBAY_FILE_DROP_DIR = tmp_path / "drop"
    settings.PATCHBAY_SANDBOX_DEFAULTS = {name: {"callback_delay": 0.0} for name in ("network", "payment", "regulator")}
    soap_clients_clear()  # cached clients point at an earlier test's server
    yield Sandbox(live_server.url, tmp_path / "drop")
    soap_clients_clear()


def context(operation: str, *, key: str = "instance-1:1", timeout: float = 5.0) -> CallContext:
    """A call context as the outbox builds one."""
    return CallContext(operation=operation, idempotency_key=key, timeout=timeout, attempt=1,
                       instance_id="instance-1", activity_id="activity")


def wait_until(condition: Callable[[], bool], *, timeout: float = 15.0, what: str = "condition") -> None:
    """Poll `condition` until it holds; fail after `timeout` seconds (bounded, never hangs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"{what} did not happen within {timeout:g}s")
