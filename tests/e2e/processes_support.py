"""The stack of tests/e2e/test_processes_e2e.py: live server + sandbox, a real Celery worker with beat.

The `stack` fixture (import `stack_fixture` into a test module) deploys the shipped processes
through the definitions service (`manage.py deploy_processes`), creates the sandbox service user
(`manage.py sandbox_setup`) and the people of the scenarios, points every system's base URL and the
sandbox's callback URL at the test's live server - in this process (the live server runs the API
and the sandbox; the sandbox's callbacks leave from here) and in the environment of the worker
subprocess (which runs the connectors over real HTTP and SOAP) - and starts
`celery -A apps worker -B` on the engine queue and every system's queue. The worker is stopped
before pytest-django flushes the database. All waits are bounded polls that fail fast when the
worker died, with the worker's log in the failure message.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from apps.integrations.http.soap import soap_clients_clear
from tests.conftest import require_postgres, require_redis
from tests.e2e.test_worker_e2e import CELERY, ROOT, stop_worker, worker_env

WAIT_SECONDS = 90.0
POLL_SECONDS = 0.25
SYSTEMS = ("crm", "credit", "billing", "network", "notify", "payment", "regulator")
# Asynchronous answers come quickly (the callbacks are still real HTTP posts from the sandbox).
CALLBACK_DELAYS = {"network": {"callback_delay": 0.3}, "payment": {"callback_delay": 0.3},
                   "regulator": {"callback_delay": 0.3}}
# Short back-off everywhere; billing gives up after 3 attempts so the incident scenario is quick
# (3 consecutive failures stay under the circuit breaker's threshold of 5).
RETRY_POLICIES = {
    **{system: {"base_delay": 0.3, "max_delay": 2.0, "jitter": 0.1} for system in (*SYSTEMS, "files")},
    "billing": {"max_attempts": 3, "base_delay": 0.3, "max_delay": 1.0, "jitter": 0.1},
}
# (username, groups): the people who complete the scenarios' work items.
PEOPLE = {
    "credit_analyst": ("agent", "credit_team"),
    "compliance_officer": ("agent", "compliance_officer"),
    "collector": ("agent", "collections"),
}


class Api:
    """A token-authenticated HTTP client of the live server's API and sandbox."""

    def __init__(self, base_url: str, token: str | None) -> None:
        headers = {"Authorization": f"Token {token}"} if token else {}
        self.client = httpx.Client(base_url=base_url, headers=headers, timeout=30.0)

    def get(self, path: str, **params: Any) -> Any:
        answer = self.client.get(path, params=params)
        assert answer.status_code == 200, f"GET {path} -> {answer.status_code}: {answer.text[:2000]}"
        return answer.json()

    def post(self, path: str, body: dict[str, Any] | None = None, *, expect: int = 200) -> Any:
        answer = self.client.post(path, json=body or {})
        assert answer.status_code == expect, f"POST {path} -> {answer.status_code}: {answer.text[:2000]}"
        return answer.json()

    def put(self, path: str, body: dict[str, Any], **params: Any) -> Any:
        answer = self.client.put(path, json=body, params=params)
        assert answer.status_code == 200, f"PUT {path} -> {answer.status_code}: {answer.text[:2000]}"
        return answer.json()

    def close(self) -> None:
        self.client.close()


@dataclass
class Stack:
    """The running stack of one test: URLs, API clients per person, the worker and its log."""

    url: str
    drop: Path
    worker: subprocess.Popen[bytes]
    log: Path
    apis: dict[str, Api] = field(default_factory=dict)
    t0: float = field(default_factory=time.monotonic)
    marks: list[tuple[str, float]] = field(default_factory=list)

    def api(self, who: str) -> Api:
        return self.apis[who]

    def knobs(self, system: str, **values: Any) -> dict[str, Any]:
        """Change a simulated system's knobs over `POST /sandbox/<system>/config`, as a demo script would."""
        answer = httpx.post(f"{self.url}/sandbox/{system}/config", json=values, timeout=10.0)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def mark(self, what: str) -> None:
        """Note a moment of the scenario (printed at the end of the test: `pytest -s` or on failure)."""
        self.marks.append((what, time.monotonic() - self.t0))

    def timings(self) -> str:
        return ", ".join(f"{what} {at:.1f}s" for what, at in self.marks)

    def worker_log(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]

    def wait_until(self, probe: Callable[[], Any], what: str, *, timeout: float = WAIT_SECONDS) -> Any:
        """Poll `probe` until it returns something truthy (returned); fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            last = probe()
            if last:
                self.mark(what)
                return last
            if self.worker.poll() is not None:
                pytest.fail(f"the worker exited with {self.worker.returncode} while waiting for {what}:\n"
                            f"{self.worker_log()}")
            time.sleep(POLL_SECONDS)
        pytest.fail(f"{what}: not within {timeout:g}s (last: {last!r:.3000})\nworker log:\n{self.worker_log()}")

    # -- instances -----------------------------------------------------------------------------------

    def start(self, process_key: str, business_key: str, variables: dict[str, Any] | None = None) -> str:
        body: dict[str, Any] = {"process_key": process_key, "business_key": business_key}
        if variables is not None:
            body["variables"] = variables
        started = self.api("ops").post("/api/v1/instances/", body, expect=201)
        self.mark(f"{process_key} started")
        return str(started["id"])

    def instance(self, instance_id: str) -> dict[str, Any]:
        return dict(self.api("ops").get(f"/api/v1/instances/{instance_id}/"))

    def wait_for_end(self, instance_id: str, *, timeout: float = WAIT_SECONDS,
                     retried: frozenset[int] = frozenset()) -> dict[str, Any]:
        """The instance once it is neither running nor waiting; fails at once if an incident opens
        meanwhile (`retried`: incidents retried by ops, open until their call gets its answer)."""

        def ended() -> dict[str, Any] | None:
            body = self.instance(instance_id)
            open_incidents = [i for i in body["incidents"] if i["status"] == "open" and i["id"] not in retried]
            if open_incidents:
                pytest.fail(f"incident while waiting for the end: {open_incidents}\n{body}\n"
                            f"worker log:\n{self.worker_log()}")
            return body if body["status"] not in ("running", "waiting") else None

        return dict(self.wait_until(ended, f"instance {instance_id[:8]} ended", timeout=timeout))

    def wait_for_work_item(self, who: str, instance_id: str, activity_id: str) -> dict[str, Any]:
        """The open work item of `activity_id` in `instance_id`, as `who` sees it in their inbox."""

        def found() -> dict[str, Any] | None:
            page = self.api(who).get("/api/v1/work-items/", status="open")
            items = [i for i in page["results"] if i["instance_id"] == instance_id and i["activity_id"] == activity_id]
            return items[0] if items else None

        return dict(self.wait_until(found, f"work item {activity_id}"))

    def complete_work_item(self, who: str, item_id: str, variables: dict[str, Any]) -> None:
        """Claim and complete a work item through the API as `who`."""
        api = self.api(who)
        api.post(f"/api/v1/work-items/{item_id}/claim/")
        api.post(f"/api/v1/work-items/{item_id}/complete/", {"variables": variables})
        self.mark("work item completed")

    def events(self, instance_id: str) -> list[dict[str, Any]]:
        """The instance's whole audit trail (every page)."""
        api, events = self.api("ops"), []
        page = api.get(f"/api/v1/instances/{instance_id}/events/", page_size=500)
        events.extend(page["results"])
        while page.get("next"):
            page = api.get(page["next"])
            events.extend(page["results"])
        return events


def _person(username: str, groups: tuple[str, ...]) -> str:
    user, _ = get_user_model().objects.get_or_create(username=username)
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    return str(Token.objects.get_or_create(user_id=user.pk)[0].key)


def _sandbox_token() -> str:
    """Run `manage.py sandbox_setup` and return the service user's token it prints."""
    out = StringIO()
    call_command("sandbox_setup", "--reset-knobs", stdout=out)
    lines = [line for line in out.getvalue().splitlines() if line.startswith("PATCHBAY_SANDBOX_CALLBACK_TOKEN=")]
    assert lines, out.getvalue()
    return lines[0].split("=", 1)[1].strip()


def worker_queues() -> str:
    """`engine`, `celery` and every external system's queue, as scripts/run_stack.py starts a worker."""
    return ",".join(dict.fromkeys(["engine", "celery", *settings.PATCHBAY_SYSTEM_QUEUES]))


@pytest.fixture(name="stack")
def stack_fixture(
    live_server: Any, users: dict[str, Any], settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Stack]:
    """The whole stack for one scenario (see the module docstring); stopped before the database flush."""
    require_postgres()
    require_redis()
    assert CELERY.exists(), f"no celery executable at {CELERY}"
    drop = tmp_path / "drop"
    drop.mkdir()
    url = str(live_server.url)
    system_urls = {name: f"{url}/sandbox/{name}/" for name in SYSTEMS}

    out = StringIO()
    call_command("deploy_processes", stdout=out)
    assert "invalid" not in out.getvalue(), out.getvalue()
    sandbox_token = _sandbox_token()

    # In this process: the live server hosts the API and the sandbox, whose callbacks leave from here.
    settings.PATCHBAY_SYSTEM_URLS = system_urls
    settings.PATCHBAY_CALLBACK_URL = url
    settings.PATCHBAY_SANDBOX_CALLBACK_TOKEN = sandbox_token
    settings.PATCHBAY_FILE_DROP_DIR = drop
    settings.PATCHBAY_SANDBOX_DEFAULTS = CALLBACK_DELAYS
    soap_clients_clear()

    env = worker_env(tmp_path)
    env.update({
        "PATCHBAY_SYSTEM_URLS": json.dumps(system_urls),
        "PATCHBAY_CALLBACK_URL": url,
        "PATCHBAY_SANDBOX_CALLBACK_TOKEN": sandbox_token,
        "PATCHBAY_FILE_DROP_DIR": str(drop),
        "PATCHBAY_SANDBOX_DEFAULTS": json.dumps(CALLBACK_DELAYS),
        "PATCHBAY_RETRY_POLICIES": json.dumps(RETRY_POLICIES),
        "PATCHBAY_OUTBOX_PENDING_GRACE_SECONDS": "5",
    })
    for name in SYSTEMS:  # a per-system URL in the caller's environment would win over the JSON
        env.pop(f"PATCHBAY_{name.upper()}_URL", None)
    # One INFO line per poll of the API would bury a failure's report.
    monkeypatch.setattr(logging.getLogger("httpx"), "level", logging.WARNING)
    apis = {"ops": Api(url, _person("ops", ("ops",)))}
    apis.update({username: Api(url, _person(username, groups)) for username, groups in PEOPLE.items()})
    log = tmp_path / "worker.log"
    with log.open("wb") as log_file:
        worker = subprocess.Popen(
            [str(CELERY), "-A", "apps", "worker", "-B", "-Q", worker_queues(), "--pool=solo", "-c", "1",
             "--loglevel=INFO", "--without-gossip", "--without-mingle", "-s", str(tmp_path / "celerybeat-schedule")],
            cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
        )
    stack = Stack(url=url, drop=drop, worker=worker, log=log, apis=apis)
    try:
        yield stack
    finally:
        stop_worker(worker)
        for api in apis.values():
            api.close()
        soap_clients_clear()
        print(f"\n[{os.environ.get('PYTEST_CURRENT_TEST', '').split(' ')[0]}] {stack.timings()}")
