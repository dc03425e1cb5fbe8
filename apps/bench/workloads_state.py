"""B4 (10,000 timers due in one minute), B5 (scale: many waiting instances), B6 (large state)."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from django.db import DatabaseError, connection, transaction

from apps.bench.bpmn_models import HUMAN_KEY, LOOP_KEY, ONE_TASK_KEY, TIMER_KEY
from apps.bench.clone import clone_instances
from apps.bench.context import Context
from apps.bench.database import is_postgres, reset_runtime
from apps.bench.driver import Started, start_loop, utc_now, wait_done
from apps.bench.measure import latency_ms, percentile, rate
from apps.bench.processes import rss_mb
from apps.instances.models import InstanceStatus, ProcessInstance
from apps.instances.services import instance_start
from apps.worklist.models import WorkItem
from apps.worklist.selectors import capped_count, work_item_list_for_user
from apps.worklist.services import work_item_complete

# B4: the first timer is due this long after the due times were written.
TIMER_LEAD_SECONDS = 3.0
PAGE = 50
# The exact count has no target (the API runs the capped one) and takes ~50 ms at 100,000 items.
EXACT_COUNT_SAMPLES = 100
WARM_UP_ROUNDS = 20


def _analyze() -> None:
    """Statistics and the visibility map for the rows just bulk-copied, as autovacuum would have
    made them within a minute of such an insert in production (index-only scans need the map)."""
    if is_postgres():
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE)")


def _settle() -> bool:
    """`_analyze`, then write the bulk copy's dirty pages out (CHECKPOINT), as a production database
    holding that many waiting instances would have long done. Without it, the measured statements
    paid for writing back the copy's pages: B5's start p99 at 100,000 was its p95 doubled. False when
    the bench's role may not checkpoint (PostgreSQL 15+: superuser or `pg_checkpoint`)."""
    _analyze()
    if not is_postgres():
        return False
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except DatabaseError:
        return False
    return True


def b4_timers(ctx: Context) -> dict[str, Any]:
    """`--timers` instances whose timers fall due evenly within `--timer-window` seconds; the real
    beat sweep fires them. Lateness = the instance's finish (timer -> end) minus its due time."""
    reset_runtime()
    count, window = ctx.options.timers, ctx.options.timer_window
    template = instance_start(process_key=TIMER_KEY, variables={}, started_by=None)
    copies = clone_instances(template, count, next_timer_at=None)
    _analyze()
    since = utc_now()
    base = since + timedelta(seconds=TIMER_LEAD_SECONDS)
    for index, copy in enumerate(copies):
        copy.next_timer_at = base + timedelta(seconds=window * index / max(count, 1))
    _write_due_times(copies)
    # Due times written after the first is due would count the write as lateness: report the margin.
    margin = base.timestamp() - utc_now().timestamp()
    due = {str(copy.pk): copy.next_timer_at.timestamp() for copy in copies if copy.next_timer_at}
    started = [Started(pk, at) for pk, at in due.items()]
    done = wait_done(started, since=since, timeout=TIMER_LEAD_SECONDS + window + 60)
    lateness = [done[pk][1] - at for pk, at in due.items() if pk in done]
    finished = [at for pk, (_, at) in done.items()]
    return {
        "timers": count,
        "window_s": window,
        "fired": len(lateness),
        "unfired": count - len(lateness),
        "fired_per_s": rate(len(finished), max(finished, default=0) - min(due.values(), default=0)),
        "first_due_after_write_s": round(margin, 2),
        "lateness": {
            "p50_ms": round(percentile(lateness, 50) * 1000, 1),
            "p99_ms": round(percentile(lateness, 99) * 1000, 1),
            "max_ms": round(max(lateness, default=0.0) * 1000, 1),
            "min_ms": round(min(lateness, default=0.0) * 1000, 1),
        },
    }


def _write_due_times(copies: list[ProcessInstance]) -> None:
    """Store each copy's `next_timer_at` in one statement on PostgreSQL (`bulk_update` with its
    1,000-way CASE took longer than the lead time for 10,000 rows on the loaded machine)."""
    if not is_postgres():
        ProcessInstance.objects.bulk_update(copies, ["next_timer_at"], batch_size=1_000)
        return
    sql = (
        f"UPDATE {ProcessInstance._meta.db_table} AS i SET next_timer_at = d.at "  # noqa: S608 - the model's table
        "FROM unnest(%s::uuid[], %s::timestamptz[]) AS d(id, at) WHERE i.id = d.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [[str(copy.pk) for copy in copies], [copy.next_timer_at for copy in copies]],
        )


def _timed(function: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    begin = time.perf_counter()
    value = function(*args, **kwargs)
    return time.perf_counter() - begin, value


def _open_item(instance_id: Any) -> str:
    return str(WorkItem.objects.filter(instance_id=instance_id, status="open").values_list("pk", flat=True).get())


def _warm_up(ctx: Context) -> None:
    """Untimed rounds of what a point measures: the first statements after a bulk copy and a
    CHECKPOINT read their pages back into the buffer cache, which is no latency of that scale."""
    for _ in range(min(WARM_UP_ROUNDS, ctx.options.samples)):
        instance = instance_start(process_key=HUMAN_KEY, variables={}, started_by=ctx.agent)
        work_item_complete(user=ctx.agent, work_item_id=_open_item(instance.pk), variables={})
        list(work_item_list_for_user(user=ctx.agent)[:PAGE])
        capped_count(work_item_list_for_user(user=ctx.agent))


def _scale_point(ctx: Context, waiting: int) -> dict[str, Any]:
    samples = ctx.options.samples
    _warm_up(ctx)
    starts, completes = [], []
    for _ in range(samples):
        took, instance = _timed(instance_start, process_key=HUMAN_KEY, variables={}, started_by=ctx.agent)
        starts.append((took, instance.pk))
    for _, pk in starts:
        took, _ = _timed(work_item_complete, user=ctx.agent, work_item_id=_open_item(pk), variables={})
        completes.append(took)
    queryset = work_item_list_for_user(user=ctx.agent)
    # The page and the count the API and the inbox run (exact up to 1,000, then "1,000+"), each in a
    # loop of its own; the exact count last and fewer times: it reads every active item (100,000
    # pages through the buffer cache at the large scale), and interleaved with the page it evicted
    # the page's index and made the page twice as slow as it is on its own.
    pages = [_timed(lambda: list(work_item_list_for_user(user=ctx.agent)[:PAGE]))[0] for _ in range(samples)]
    counts = [_timed(capped_count, work_item_list_for_user(user=ctx.agent))[0] for _ in range(samples)]
    exact_counts = [_timed(queryset.count)[0] for _ in range(min(samples, EXACT_COUNT_SAMPLES))]
    since = utc_now()
    burst = start_loop(ONE_TASK_KEY, duration=max(1.0, ctx.options.duration / 4), rate_per_s=None)
    wait_done(burst, since=since, timeout=60)
    rss = [rss_mb(pid) for pid in ctx.worker_pids()]
    return {
        "waiting_instances": waiting,
        "start_latency": latency_ms([t for t, _ in starts]),
        "complete_latency": latency_ms(completes),
        "worklist_page_latency": latency_ms(pages),
        "worklist_count_latency": latency_ms(counts),
        "worklist_exact_count_latency": latency_ms(exact_counts),
        "worker_rss_mb": {"max_process": round(max(rss, default=0.0), 1), "total": round(sum(rss), 1),
                          "processes": len(rss)},
    }


def b5_scale(ctx: Context) -> dict[str, Any]:
    """Start/complete/worklist latency and worker memory with N waiting human-task instances.

    The smallest scale is measured again after the largest (A-B-A) and the ratios divide by the
    mean of its two measurements: the two scales are measured minutes apart, and this machine's
    speed drifts by more than the 2x margin's worth in that time (docs/performance.md, round 9).
    """
    reset_runtime()
    template = instance_start(process_key=HUMAN_KEY, variables={}, started_by=None)
    scales = sorted(ctx.options.scales)
    points = [_grown_to(ctx, scale, template) for scale in scales]
    if len(scales) > 1:
        reset_runtime()
        template = instance_start(process_key=HUMAN_KEY, variables={}, started_by=None)
        points.append({**_grown_to(ctx, scales[0], template), "again": True})
    return {
        "points": points,
        "ratios_largest_to_smallest": _scale_ratios(points),
        "ratios_largest_to_first_smallest": _scale_ratios(points, first_only=True),
    }


def _grown_to(ctx: Context, scale: int, template: ProcessInstance) -> dict[str, Any]:
    """Clone `template` until `scale` instances wait, settle the database, and measure one point."""
    have = ProcessInstance.objects.filter(status=InstanceStatus.WAITING).count()
    begin = time.monotonic()
    clone_instances(template, max(scale - have, 0))
    checkpointed = _settle()
    cloned = time.monotonic() - begin
    point = _scale_point(ctx, scale)
    point["clone_seconds"] = round(cloned, 1)
    point["checkpointed"] = checkpointed
    point["measure_seconds"] = round(time.monotonic() - begin - cloned, 1)
    return point


_SCALED = ("start_latency", "complete_latency", "worklist_page_latency", "worklist_count_latency",
           "worklist_exact_count_latency")


def _scale_ratios(points: list[dict[str, Any]], *, first_only: bool = False) -> dict[str, float]:
    """p99 at the largest scale over p99 at the smallest: the mean of the smallest scale's
    measurements before and after the largest, or the one before (`first_only`)."""
    measured = [p for p in points if not p.get("again")]
    if len(measured) < 2:
        return {}
    large = max(measured, key=lambda p: p["waiting_instances"])
    smalls = [p for p in points if p["waiting_instances"] == measured[0]["waiting_instances"]]
    if first_only:
        smalls = smalls[:1]
    ratios = {}
    for key in _SCALED:
        small = sum(p[key]["p99_ms"] for p in smalls) / len(smalls)
        ratios[f"{key}_p99"] = round(large[key]["p99_ms"] / max(small, 1e-3), 2)
    return ratios


def b6_large_state(ctx: Context) -> dict[str, Any]:
    """One instance carrying ~`--state-bytes` of variables, stepped `--loop-steps` times."""
    reset_runtime()
    record = {"msisdn": "+441632960000", "plan": "unlimited-5g", "status": "active", "note": "x" * 40}
    records = [{**record, "id": index} for index in range(max(1, ctx.options.state_bytes // 110))]
    variables = {"limit": ctx.options.loop_steps, "records": records}
    first, instance = _timed(instance_start, process_key=LOOP_KEY, variables=variables, started_by=ctx.agent)
    steps: list[float] = []
    for _ in range(ctx.options.loop_steps):
        took, _ = _timed(work_item_complete, user=ctx.agent, work_item_id=_open_item(instance.pk), variables={})
        steps.append(took)
    instance.refresh_from_db()
    tenth = max(1, len(steps) // 10)
    return {
        "steps": len(steps),
        "status": instance.status,
        "variables_bytes": len(_json(instance.variables)),
        "snapshot_bytes_at_end": len(instance.snapshot),
        "start_step_ms": round(first * 1000, 1),
        "per_step": latency_ms(steps),
        "mean_ms": round(1000 * sum(steps) / max(len(steps), 1), 1),
        "first_tenth_mean_ms": round(1000 * sum(steps[:tenth]) / tenth, 1),
        "last_tenth_mean_ms": round(1000 * sum(steps[-tenth:]) / tenth, 1),
    }


def _json(value: Any) -> str:
    return json.dumps(value)
