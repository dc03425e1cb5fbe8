"""Prometheus metrics: one registry for the project and the `/metrics` view (text exposition).

Apps add their series here: counters and histograms on `REGISTRY` (per process), and scrape-time
collectors through `register_collector` - the way to report state that lives in the database (it is
the same whichever process is scraped). The SLA/ops issue adds instance and step series the same way.

Multi-process: when `PROMETHEUS_MULTIPROC_DIR` is set (prometheus_client's multiprocess mode, e.g.
gunicorn workers and Celery workers on one host sharing the folder), the view aggregates every
process's counters from that folder and adds the collectors.
"""

from __future__ import annotations

import os
import threading

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest, multiprocess
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)

# Observed by the step pipeline around every step (lock to commit), by command kind.
STEP_SECONDS = Histogram(
    "patchbay_step_duration_seconds",
    "Time one step of the pipeline took (lock, engine, effects, commit), by command.",
    ["command"],
    registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
# Observed by the timer sweep for each instance it fires: how late the timer fired (fire - due time).
TIMER_LATENESS_SECONDS = Histogram(
    "patchbay_timer_lateness_seconds",
    "How long after its due time a timer of an instance fired.",
    registry=REGISTRY,
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600),
)

_lock = threading.Lock()
_collectors: list[Collector] = []


def register_collector(collector: Collector) -> Collector:
    """Add a scrape-time collector (idempotent per collector class: apps may load twice in tests)."""
    with _lock:
        if any(type(existing) is type(collector) for existing in _collectors):
            return collector
        _collectors.append(collector)
        REGISTRY.register(collector)
    return collector


def _scrape_registry() -> CollectorRegistry:
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    with _lock:
        for collector in _collectors:
            registry.register(collector)
    return registry


@require_GET
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """`GET /metrics`: every series in Prometheus' text format (no auth, like the health probes)."""
    return HttpResponse(generate_latest(_scrape_registry()), content_type=CONTENT_TYPE_LATEST)
