"""Prometheus series of instances, work items and SLAs, read from the database at scrape time.

`OpsCollector` (registered in `SlaConfig.ready`) reports the whole deployment whichever process is
scraped, in a fixed number of grouped queries. Step latency and timer lateness are histograms
observed where the work happens (`apps.core.metrics`).
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import DatabaseError
from django.db.models import Count
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from apps.instances.models import ProcessInstance
from apps.sla.models import Deadline, SlaBreach
from apps.worklist.models import ACTIVE_STATUSES, CandidateKind, WorkItemCandidate

Family = CounterMetricFamily | GaugeMetricFamily


def _families() -> dict[str, Family]:
    return {
        "started": CounterMetricFamily("patchbay_instances_started", "Instances started, by process.",
                                       labels=["process"]),
        "completed": CounterMetricFamily("patchbay_instances_completed", "Instances completed, by process.",
                                         labels=["process"]),
        "failed": CounterMetricFamily("patchbay_instances_failed", "Instances failed, by process.",
                                      labels=["process"]),
        "by_status": GaugeMetricFamily("patchbay_instances", "Instances by process and status.",
                                       labels=["process", "status"]),
        "work_items": GaugeMetricFamily("patchbay_work_items_open", "Open or claimed work items by candidate group.",
                                        labels=["group"]),
        "breaches": CounterMetricFamily("patchbay_sla_events", "SLA at-risk and breach events recorded, by process.",
                                        labels=["process", "kind"]),
        "open": GaugeMetricFamily("patchbay_sla_open", "Running SLA clocks now at risk or breached, by process.",
                                  labels=["process", "state"]),
    }


class OpsCollector(Collector):
    """Scrape-time series: instance counts, open work items per group, SLA events and open breaches."""

    def describe(self) -> Iterator[Metric]:
        """The families without values (registration must not touch the database)."""
        yield from _families().values()

    def collect(self) -> Iterator[Metric]:
        """Five grouped queries; nothing when the database is unreachable."""
        families = _families()
        try:
            _instances(families)
            _work_items(families)
            _sla(families)
        except DatabaseError:
            return
        yield from families.values()


def _instances(families: dict[str, Family]) -> None:
    totals: dict[str, int] = {}
    rows = ProcessInstance.objects.order_by().values_list("process_key", "status").annotate(n=Count("pk"))
    for process, status, count in rows:
        totals[process] = totals.get(process, 0) + count
        families["by_status"].add_metric([process, status], count)
        if status in ("completed", "failed"):
            families[status].add_metric([process], count)
    for process, count in totals.items():
        families["started"].add_metric([process], count)


def _work_items(families: dict[str, Family]) -> None:
    rows = (WorkItemCandidate.objects.filter(kind=CandidateKind.GROUP, work_item__status__in=ACTIVE_STATUSES)
            .order_by().values_list("name").annotate(n=Count("pk")))
    for group, count in rows:
        families["work_items"].add_metric([group], count)


def _sla(families: dict[str, Family]) -> None:
    for process, kind, count in SlaBreach.objects.order_by().values_list("process_key", "kind").annotate(n=Count("pk")):
        families["breaches"].add_metric([process, kind], count)
    running = Deadline.objects.filter(stopped_at__isnull=True).order_by()
    for process, count in running.filter(breached_at__isnull=False).values_list("process_key").annotate(n=Count("pk")):
        families["open"].add_metric([process, "breached"], count)
    at_risk = running.filter(breached_at__isnull=True, at_risk_fired_at__isnull=False)
    for process, count in at_risk.values_list("process_key").annotate(n=Count("pk")):
        families["open"].add_metric([process, "at_risk"], count)
