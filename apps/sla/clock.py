"""The effect handler that starts and stops SLA clocks (`Deadline` rows) with every step.

Registered in `SlaConfig.ready`, after the worklist's handler, so the step's work items exist. It runs
inside the step's transaction under the instance lock (the pipeline's rules: rows only, no network).

* Start: the process clock when the step started the instance (counted from `started_at`); an
  activity clock for every activity with a policy that is active after the step and has no running
  clock (a user task opening, a service task parked, a receive task waiting ...).
* Stop: an activity clock when the step completed its activity (`met`/`missed` by the due time) or
  the activity is no longer active without completing (`aborted`: a boundary event, a cancel); every
  clock when the instance finished (the process clock is `met`/`missed` when it completed).

Cost per step: one query for the instance's running clocks, none when neither a policy applies to the
process nor the instance has a running clock (`ProcessInstance.sla_clocks`); the overrides are read
at most once a second per process (`policies.overrides_for_step`).
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

import bpmn
from apps.instances.models import FINISHED_STATUSES, ProcessInstance
from apps.instances.runtime import model_source_for
from apps.sla.calendars import Clock
from apps.sla.models import Deadline, DeadlineOutcome
from apps.sla.policies import EffectivePolicy, clocks_for, deadline_times, effective_policies, overrides_for_step
from apps.worklist.models import ACTIVE_STATUSES, WorkItem


def track_deadlines(instance: ProcessInstance, result: bpmn.StepResult) -> None:
    """Stop the clocks whose work ended in this step, then start those of work that began.

    Keeps `instance.sla_clocks` (saved by the pipeline with the step) true while the instance has a
    running clock, so a step of an instance without policies and without clocks costs no query.
    """
    now = timezone.now()
    policies = effective_policies(
        process_key=instance.process_key,
        source=model_source_for(instance.definition),
        overrides=overrides_for_step(instance.process_key),
    )
    if not policies and not instance.sla_clocks:
        return
    running = list(Deadline.objects.filter(instance=instance, stopped_at__isnull=True))
    still_running = _stop_finished(running, result, now)
    started = _start_new(instance, result, policies, {d.activity_id for d in still_running}, now)
    instance.sla_clocks = bool(still_running) or started


def _stop_finished(running: list[Deadline], result: bpmn.StepResult, now: datetime) -> list[Deadline]:
    finished = result.status in FINISHED_STATUSES
    active = set(result.active_activities)
    completed = set(result.completed_activities)
    kept = []
    for deadline in running:
        if deadline.activity_id == "":
            ends = finished
            done = result.status == "completed"
        else:
            done = deadline.activity_id in completed
            ends = finished or done or deadline.activity_id not in active
        if not ends:
            kept.append(deadline)
            continue
        _stop(deadline, now, completed=done)
    return kept


def _stop(deadline: Deadline, now: datetime, *, completed: bool) -> None:
    if not completed:
        deadline.outcome = DeadlineOutcome.ABORTED
    elif deadline.breached_at is not None or now > deadline.due_at:
        deadline.outcome = DeadlineOutcome.MISSED
    else:
        deadline.outcome = DeadlineOutcome.MET
    deadline.stopped_at = now
    deadline.next_check_at = None
    deadline.save(update_fields=["outcome", "stopped_at", "next_check_at"])


def _start_new(instance: ProcessInstance, result: bpmn.StepResult, policies: dict[str, EffectivePolicy],
               running: set[str], now: datetime) -> bool:
    """Start the clocks of work that began; True if one was started and is still running."""
    starts: list[tuple[EffectivePolicy, datetime]] = []
    started = any(event.type == "instance.started" for event in result.audit)
    if started and "" in policies and "" not in running:
        starts.append((policies[""], instance.started_at))
    if result.status not in FINISHED_STATUSES:
        for activity_id in dict.fromkeys(result.active_activities):
            if activity_id and activity_id in policies and activity_id not in running:
                starts.append((policies[activity_id], now))
    if not starts:
        return False
    clocks = clocks_for((p.calendar, p.timezone) for p, _ in starts)
    items = _work_items(instance, [p.activity_id for p, _ in starts if p.activity_id])
    rows = [_deadline(instance, policy, clocks[(policy.calendar, policy.timezone)], at, items) for policy, at in starts]
    Deadline.objects.bulk_create(rows)
    # The process clock of an instance that finished in its first step stops at once (cycle stats).
    if result.status in FINISHED_STATUSES:
        for row in rows:
            _stop(row, now, completed=result.status == "completed")
        return False
    return True


def _work_items(instance: ProcessInstance, activity_ids: list[str]) -> dict[str, WorkItem]:
    """The open work item of each activity (for the dashboard's group and the escalations)."""
    if not activity_ids:
        return {}
    rows = WorkItem.objects.filter(instance=instance, activity_id__in=activity_ids, status__in=ACTIVE_STATUSES)
    return {item.activity_id: item for item in rows.only("id", "activity_id", "candidate_groups")}


def _deadline(instance: ProcessInstance, policy: EffectivePolicy, clock: Clock, started_at: datetime,
              items: dict[str, WorkItem]) -> Deadline:
    at_risk_at, due_at = deadline_times(policy, clock, started_at)
    item = items.get(policy.activity_id)
    groups = list(item.candidate_groups or []) if item is not None else []
    return Deadline(
        instance=instance,
        process_key=instance.process_key,
        activity_id=policy.activity_id,
        work_item=item,
        group=str(groups[0]) if groups else "",
        policy=f"{policy.name} ({policy.source})",
        policy_override_id=policy.override_id,
        calendar=policy.calendar,
        timezone=policy.timezone,
        pause_on_suspend=policy.pause_on_suspend,
        escalations=policy.escalations,
        started_at=started_at,
        at_risk_at=at_risk_at,
        due_at=due_at,
        next_check_at=at_risk_at,
    )
