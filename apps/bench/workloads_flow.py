"""B1 (one service task) and B2 (a typical model): instances started here, run by the workers."""

from __future__ import annotations

from typing import Any

from apps.bench.bpmn_models import ONE_TASK_KEY, TYPICAL_KEY
from apps.bench.context import Context, own_pid
from apps.bench.database import reset_runtime
from apps.bench.driver import ORDER, start_parallel, throughput_figures, utc_now, wait_done
from apps.instances.models import ProcessInstance

# How long the workers get to finish what was started, beyond the start phase itself.
DRAIN_SECONDS = 60.0


def _run(ctx: Context, key: str, rate: float | None, *, profile: str = "",
         variables: dict[str, Any] | None = None, in_flight: int = 0) -> dict[str, Any]:
    reset_runtime()
    since = utc_now()
    # The bench process's children: the starters, the workers and their pools, beat.
    pids = [own_pid()] if profile else []
    with ctx.profiled(profile, pids):
        started = start_parallel(key, starters=ctx.options.starters, duration=ctx.options.duration,
                                 rate_per_s=rate, variables=variables, in_flight=in_flight)
        done = wait_done(started, since=since, timeout=DRAIN_SECONDS + ctx.options.duration)
    return throughput_figures(started, done)


def b1_one_task(ctx: Context) -> dict[str, Any]:
    """start -> core.echo -> end at the maximum rate (at most `--in-flight` unfinished), then at `--rate`."""
    return {
        "max_rate": {"in_flight": ctx.options.in_flight,
                     **_run(ctx, ONE_TASK_KEY, None, profile="B1", in_flight=ctx.options.in_flight)},
        "fixed_rate": {"rate": ctx.options.rate, **_run(ctx, ONE_TASK_KEY, ctx.options.rate)},
    }


def b2_typical(ctx: Context) -> dict[str, Any]:
    """13 activities with a choice, a parallel split/join, two 1 s timers and a service call."""
    figures = _run(ctx, TYPICAL_KEY, None, variables={**ORDER, "amount": 250})
    activities = sum(
        len(done) for done in ProcessInstance.objects.filter(status="completed").values_list(
            "completed_activities", flat=True)
    )
    window_s = figures["completed"] / figures["completed_per_s"] if figures["completed_per_s"] else 0.0
    figures["activities"] = activities
    figures["activities_per_s"] = round(activities / window_s, 1) if window_s else 0.0
    return figures
