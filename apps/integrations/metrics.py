"""Prometheus series of the integrations, on the registry of `apps.core.metrics`.

Counters and the latency histogram are per process (a worker counts its own calls; see
docs/operations.md for multi-process setups). Breaker states and the outbox backlog are read from the
database at scrape time by `OutboxCollector`, so any web node reports them for the whole deployment.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import DatabaseError
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from apps.core.metrics import REGISTRY
from apps.integrations import selectors

CONNECTOR_CALLS = Counter(
    "patchbay_connector_calls",
    "Connector attempts by operation and outcome (result, bpmn_error, retryable, permanent).",
    ["operation", "outcome"],
    registry=REGISTRY,
)
CONNECTOR_LATENCY = Histogram(
    "patchbay_connector_call_duration_seconds",
    "Time a connector attempt took, by operation.",
    ["operation"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
BREAKER_VALUES = {"closed": 0, "half_open": 1, "open": 2}


def observe_call(operation: str, outcome: str, seconds: float) -> None:
    """Count one connector attempt and its duration."""
    CONNECTOR_CALLS.labels(operation=operation, outcome=outcome).inc()
    CONNECTOR_LATENCY.labels(operation=operation).observe(seconds)


class OutboxCollector(Collector):
    """Scrape-time gauges from the database: breaker state per system, backlog and running calls."""

    def describe(self) -> Iterator[Metric]:
        """The gauges without values (registration must not touch the database)."""
        yield from _families()

    def collect(self) -> Iterator[Metric]:
        """Yield the gauges (three queries; nothing when the database is unreachable)."""
        breaker, backlog, running = _families()
        try:
            for view in selectors.system_list():
                breaker.add_metric([view.name], BREAKER_VALUES.get(view.breaker_state, 0))
                backlog.add_metric([view.name, "pending"], view.pending)
                backlog.add_metric([view.name, "retrying"], view.retrying)
                running.add_metric([view.name], view.running)
        except DatabaseError:
            return
        yield from (breaker, backlog, running)


def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
    breaker = GaugeMetricFamily(
        "patchbay_circuit_breaker_state", "Circuit breaker per system: 0 closed, 1 half-open, 2 open.",
        labels=["system"],
    )
    backlog = GaugeMetricFamily(
        "patchbay_outbox_backlog", "Outbound calls waiting to run (pending, retrying), by system.",
        labels=["system", "status"],
    )
    running = GaugeMetricFamily("patchbay_outbox_running", "Outbound calls running now, by system.", labels=["system"])
    return breaker, backlog, running
