"""B3: a human task completed through the REST API, over real HTTP to a gunicorn the bench starts.

`--clients` threads each loop: `POST /api/v1/instances/` (the start step runs in the web worker and
opens the work item), look the work item up (a bench-side query, not timed as part of the API),
`POST /api/v1/work-items/{id}/complete/` (the completing step runs in the web worker, the instance
ends). Latency is the first request's start to the second's answer.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import httpx
from django.db import connection

from apps.bench.bpmn_models import HUMAN_KEY
from apps.bench.context import Context
from apps.bench.database import reset_runtime
from apps.bench.measure import latency_ms, rate
from apps.bench.processes import gunicorn_argv
from apps.worklist.models import WorkItem


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_http(base: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer; see var/bench/gunicorn.log")


def _work_item_for(instance_id: Any) -> str:
    for _ in range(50):
        found = WorkItem.objects.filter(instance_id=instance_id, status="open").values_list("pk", flat=True).first()
        if found is not None:
            return str(found)
        time.sleep(0.01)
    raise RuntimeError(f"no open work item for instance {instance_id}")


def _client_loop(base: str, token: str, until: float, samples: dict[str, list[float]], errors: list[str]) -> None:
    headers = {"Authorization": f"Token {token}"}
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=30.0) as client:
            while time.monotonic() < until:
                t0 = time.monotonic()
                started = client.post("/api/v1/instances/", json={"process_key": HUMAN_KEY})
                t1 = time.monotonic()
                if started.status_code != 201:
                    errors.append(f"start {started.status_code}: {started.text[:200]}")
                    continue
                item = _work_item_for(started.json()["id"])
                t2 = time.monotonic()
                done = client.post(f"/api/v1/work-items/{item}/complete/", json={"variables": {}})
                t3 = time.monotonic()
                if done.status_code != 200:
                    errors.append(f"complete {done.status_code}: {done.text[:200]}")
                    continue
                samples["start"].append(t1 - t0)
                samples["complete"].append(t3 - t2)
                samples["end_to_end"].append(t3 - t0)
    finally:
        connection.close()


def b3_human(ctx: Context) -> dict[str, Any]:
    """Instances per second and latencies of start -> user task -> complete via the API."""
    reset_runtime()
    port = _free_port()
    web = ctx.fleet.spawn("gunicorn", gunicorn_argv(ctx.options, port))
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_http(base)
        samples: dict[str, list[float]] = {"start": [], "complete": [], "end_to_end": []}
        errors: list[str] = []
        begin = time.monotonic()
        until = begin + ctx.options.duration
        threads = [threading.Thread(target=_client_loop, args=(base, ctx.token, until, samples, errors))
                   for _ in range(ctx.options.clients)]
        with ctx.profiled("B3", [web.process.pid]):
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        elapsed = time.monotonic() - begin
    finally:
        ctx.fleet.stop(web)
    return {
        "transport": "HTTP/1.1 to gunicorn (sync workers), token auth",
        "web_workers": ctx.options.web_workers,
        "clients": ctx.options.clients,
        "completed": len(samples["end_to_end"]),
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
        "completed_per_s": rate(len(samples["end_to_end"]), elapsed),
        "latency": latency_ms(samples["end_to_end"]),
        "start_latency": latency_ms(samples["start"]),
        "complete_latency": latency_ms(samples["complete"]),
    }
