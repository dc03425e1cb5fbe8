"""Aggregates of the ops dashboard: breach rates, cycle-time percentiles, throughput, the heatmap.

Every function is a fixed number of grouped queries, whatever the number of instances: SQL does the
counting and averaging (`values().annotate()`). Percentiles are `percentile_cont` on PostgreSQL; on
SQLite (no such aggregate) the newest `PERCENTILE_SAMPLE` durations are read in one query and the
percentiles computed here. Nothing is cached: the page shows the database as it is.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Aggregate, Avg, Count, F, FloatField, Func, Q, QuerySet
from django.db.models.functions import TruncHour

from apps.instances.models import FINISHED_STATUSES, InstanceStatus, ProcessInstance
from apps.sla.models import Deadline
from apps.worklist.models import WorkItem, WorkItemStatus

PERCENTILE_SAMPLE = 20_000


class Seconds(Func):
    """`end - start` in seconds as a float, on PostgreSQL and SQLite."""

    output_field = FloatField()
    template = "EXTRACT(EPOCH FROM (%(expressions)s))"
    arg_joiner = " - "

    def __init__(self, start: str, end: str) -> None:
        super().__init__(F(end), F(start))

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        """SQLite stores datetimes as text; julianday() turns them into days."""
        return self.as_sql(compiler, connection, template="((julianday(%(expressions)s)) * 86400.0)",
                           arg_joiner=") - julianday(", **extra)


class PercentileCont(Aggregate):
    """PostgreSQL's `percentile_cont(fraction) WITHIN GROUP (ORDER BY expr)`."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


@dataclass(frozen=True)
class Percentiles:
    """p50 and p95 of durations in seconds (None without data) and how many durations there were."""

    p50: float | None
    p95: float | None
    count: int


def _python_percentiles(values: list[float]) -> Percentiles:
    if not values:
        return Percentiles(None, None, 0)
    if len(values) == 1:
        return Percentiles(values[0], values[0], 1)
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return Percentiles(cuts[49], cuts[94], len(values))


def percentiles_by(rows: QuerySet[Any], keys: tuple[str, ...], start: str,
                   end: str) -> dict[tuple[Any, ...], Percentiles]:
    """p50/p95 of `end - start` per group of `keys`, in one query (SQL on PostgreSQL, a sample elsewhere)."""
    seconds = Seconds(start, end)
    if connection.vendor == "postgresql":
        grouped = rows.order_by().values(*keys).annotate(
            p50=PercentileCont(seconds, fraction=0.5), p95=PercentileCont(seconds, fraction=0.95), n=Count("pk"))
        return {tuple(r[k] for k in keys): Percentiles(r["p50"], r["p95"], r["n"]) for r in grouped}
    samples: dict[tuple[Any, ...], list[float]] = defaultdict(list)
    sample = rows.annotate(seconds=seconds).order_by(f"-{end}").values_list(*keys, "seconds")[:PERCENTILE_SAMPLE]
    for *group, value in sample:
        if value is not None:
            samples[tuple(group)].append(float(value))
    return {group: _python_percentiles(sorted(values)) for group, values in samples.items()}


def _hour(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:00Z")


def breach_rate_series(*, since: datetime) -> dict[str, dict[str, float]]:
    """Per process, per hour the clocks fell due: share of them that breached (0..1). One query."""
    rows = (Deadline.objects.filter(activity_id="", due_at__gte=since).order_by()
            .annotate(bucket=TruncHour("due_at")).values("process_key", "bucket")
            .annotate(total=Count("pk"), breached=Count("pk", filter=Q(breached_at__isnull=False))))
    series: dict[str, dict[str, float]] = defaultdict(dict)
    for row in rows:
        series[row["process_key"]][_hour(row["bucket"])] = round(row["breached"] / row["total"], 4)
    return dict(series)


def cycle_time_series(*, since: datetime) -> dict[str, dict[str, Percentiles]]:
    """Per process, per hour instances completed: p50/p95 of their cycle time (start to end)."""
    rows = (ProcessInstance.objects.filter(status=InstanceStatus.COMPLETED, ended_at__gte=since)
            .annotate(bucket=TruncHour("ended_at")))
    found = percentiles_by(rows, ("process_key", "bucket"), "started_at", "ended_at")
    series: dict[str, dict[str, Percentiles]] = defaultdict(dict)
    for (process_key, bucket), value in found.items():
        series[process_key][_hour(bucket)] = value
    return dict(series)


def activity_stats(*, since: datetime) -> list[dict[str, Any]]:
    """Per (process, activity) with an SLA: stopped clocks' p50/p95 and breach rate since `since`. Two queries."""
    stopped = Deadline.objects.filter(stopped_at__gte=since).exclude(activity_id="").exclude(outcome="aborted")
    pcts = percentiles_by(stopped, ("process_key", "activity_id"), "started_at", "stopped_at")
    counts = (stopped.order_by().values("process_key", "activity_id")
              .annotate(total=Count("pk"), breached=Count("pk", filter=Q(breached_at__isnull=False))))
    out = []
    for row in counts:
        value = pcts.get((row["process_key"], row["activity_id"]), Percentiles(None, None, 0))
        out.append({**row, "p50": value.p50, "p95": value.p95,
                    "breach_rate": round(row["breached"] / row["total"], 4) if row["total"] else 0.0})
    return sorted(out, key=lambda r: (r["process_key"], r["activity_id"]))


def throughput_series(*, since: datetime) -> dict[str, dict[str, int]]:
    """Instances started and completed per hour (all processes). Two queries."""
    started = (ProcessInstance.objects.filter(started_at__gte=since).order_by()
               .annotate(bucket=TruncHour("started_at")).values("bucket").annotate(n=Count("pk")))
    completed = (ProcessInstance.objects.filter(status=InstanceStatus.COMPLETED, ended_at__gte=since).order_by()
                 .annotate(bucket=TruncHour("ended_at")).values("bucket").annotate(n=Count("pk")))
    return {"started": {_hour(r["bucket"]): r["n"] for r in started},
            "completed": {_hour(r["bucket"]): r["n"] for r in completed}}


def heatmap(*, definition_id: int) -> dict[str, dict[str, Any]]:
    """Per activity of one definition: tokens waiting now, mean duration (s) and breach rate. Three queries.

    Tokens are counted from the unfinished instances' active activities (one query, counted here: the
    list is JSON). Durations come from stopped SLA clocks, else from completed work items.
    """
    tokens: Counter[str] = Counter()
    unfinished = ProcessInstance.objects.filter(definition_id=definition_id).exclude(status__in=FINISHED_STATUSES)
    for active in unfinished.values_list("active_activities", flat=True).iterator(chunk_size=2000):
        tokens.update(a for a in (active or []) if isinstance(a, str))
    clocks = (Deadline.objects.filter(instance__definition_id=definition_id).exclude(activity_id="").order_by()
              .values("activity_id")
              .annotate(total=Count("pk"), breached=Count("pk", filter=Q(breached_at__isnull=False)),
                        mean=Avg(Seconds("started_at", "stopped_at"), filter=Q(stopped_at__isnull=False))))
    items = (WorkItem.objects.filter(instance__definition_id=definition_id, status=WorkItemStatus.COMPLETED)
             .order_by().values("activity_id").annotate(mean=Avg(Seconds("created_at", "completed_at"))))
    out: dict[str, dict[str, Any]] = defaultdict(lambda: {"tokens": 0, "mean_seconds": None, "breach_rate": None})
    for activity_id, count in tokens.items():
        out[activity_id]["tokens"] = count
    for row in items:
        out[row["activity_id"]]["mean_seconds"] = row["mean"]
    for row in clocks:
        entry = out[row["activity_id"]]
        entry["breach_rate"] = round(row["breached"] / row["total"], 4) if row["total"] else None
        entry["mean_seconds"] = row["mean"] if row["mean"] is not None else entry["mean_seconds"]
    return dict(out)


def hours(since: datetime, until: datetime) -> list[str]:
    """Hour labels from `since` to `until` (the charts' x axis)."""
    start = since.replace(minute=0, second=0, microsecond=0)
    labels = []
    while start <= until:
        labels.append(_hour(start))
        start += timedelta(hours=1)
    return labels
