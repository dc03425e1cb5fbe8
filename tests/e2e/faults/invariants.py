"""The invariant check every fault scenario ends with (read straight from PostgreSQL and the system).

1. Every instance completed, or waits in a documented wait state: an open work item, a message
   subscription, a timer (`next_timer_at`) or an open outbound call. None is left `running`, none
   `failed`/`suspended`, and none has an open incident (nothing failed unexpectedly).
2. At most one effect per idempotency key: the external system performed each key's effect at most
   once (however often the key was sent), every key it saw belongs to a call of these instances,
   and every result an instance holds is the answer to *its* call's key (the effect's id matches).
3. The audit trail is complete: seq 1..n without gaps and equal to the row's `event_seq`; exactly
   one `instance.started`, first; a completed instance has exactly one `instance.completed`, last;
   each service call whose result was applied has exactly one `activity.completed` for its task,
   and a call whose task was interrupted (cancelled, or its late result ignored) has none.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from apps.instances.models import IncidentStatus, InstanceEvent, InstanceStatus, ProcessInstance
from apps.integrations.models import OPEN_STATUSES, CallStatus, OutboundCall
from apps.worklist.models import ACTIVE_STATUSES
from tests.e2e.faults.harness import ExternalSystem


@dataclass
class Report:
    """What the check saw, for the scenario's own assertions and its log line."""

    statuses: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)
    applied_results: int = 0
    ignored_results: int = 0
    requests: int = 0
    replays: int = 0
    problems: list[str] = field(default_factory=list)


def check_invariants(
    instance_ids: list[Any],
    system: ExternalSystem | None = None,
    *,
    max_requests_per_key: int | None = None,
    allow_waiting: bool = False,
) -> Report:
    """Check the three invariants over `instance_ids`; fail the test listing every violation."""
    report = Report()
    instances = {i.pk: i for i in ProcessInstance.objects.filter(pk__in=instance_ids)}
    if len(instances) != len(set(instance_ids)):
        report.problems.append(f"{len(set(instance_ids)) - len(instances)} instance(s) are missing")
    calls = list(OutboundCall.objects.filter(instance_id__in=instances).order_by("pk"))
    events: dict[Any, list[InstanceEvent]] = {pk: [] for pk in instances}
    for event in InstanceEvent.objects.filter(instance_id__in=instances).order_by("instance_id", "seq"):
        events[event.instance_id].append(event)

    for instance in instances.values():
        report.statuses[instance.status] += 1
        _check_state(instance, allow_waiting, report)
        _check_trail(instance, events[instance.pk], report)
    for call in calls:
        report.calls[call.status] += 1
        _check_call(instances[call.instance_id], call, events[call.instance_id], system, report)
    if system is not None:
        _check_system(calls, system, max_requests_per_key, report)

    assert not report.problems, "invariants violated:\n  " + "\n  ".join(report.problems[:40])
    return report


def _check_state(instance: ProcessInstance, allow_waiting: bool, report: Report) -> None:
    name = f"instance {instance.pk}"
    open_incidents = list(instance.incidents.filter(status=IncidentStatus.OPEN).values_list("kind", "message"))
    if open_incidents:
        report.problems.append(f"{name} has open incidents: {open_incidents}")
    if instance.status == InstanceStatus.COMPLETED:
        if instance.outbound_calls.filter(status__in=OPEN_STATUSES).exists():
            report.problems.append(f"{name} completed with open outbound calls")
        return
    if instance.status == InstanceStatus.WAITING and allow_waiting:
        documented = (
            instance.next_timer_at is not None
            or instance.subscriptions.exists()
            or instance.work_items.filter(status__in=ACTIVE_STATUSES).exists()
            or instance.outbound_calls.filter(status__in=OPEN_STATUSES).exists()
        )
        if not documented:
            report.problems.append(f"{name} is waiting on nothing (no timer, message, work item or call)")
        return
    report.problems.append(f"{name} is {instance.status} at {instance.active_activities}")


def _check_trail(instance: ProcessInstance, trail: list[InstanceEvent], report: Report) -> None:
    name = f"instance {instance.pk}"
    seqs = [e.seq for e in trail]
    if seqs != list(range(1, len(trail) + 1)) or instance.event_seq != len(trail):
        report.problems.append(f"{name}: audit seq {seqs} (event_seq {instance.event_seq}) has gaps")
    types = [e.type for e in trail]
    if types.count("instance.started") != 1 or not types or types[0] != "instance.started":
        report.problems.append(f"{name}: audit trail does not start with one instance.started: {types}")
    if instance.status == InstanceStatus.COMPLETED and (
        types.count("instance.completed") != 1 or types[-1] != "instance.completed"
    ):
        report.problems.append(f"{name}: completed, but the trail does not end with one instance.completed")


def _check_call(
    instance: ProcessInstance,
    call: OutboundCall,
    trail: list[InstanceEvent],
    system: ExternalSystem | None,
    report: Report,
) -> None:
    name = f"call {call.pk} ({call.activity_id} of {instance.pk})"
    completions = sum(1 for e in trail if e.type == "activity.completed" and e.activity_id == call.activity_id)
    took_result = call.activity_id in instance.completed_activities
    if call.status == CallStatus.SUCCEEDED and took_result:
        report.applied_results += 1
        if call.applied_at is None:
            report.problems.append(f"{name}: the instance moved on but the call is not marked applied")
        if completions != 1:
            report.problems.append(f"{name}: {completions} activity.completed events for one applied result")
        variable = instance.variables.get(call.result_variable) if call.result_variable else None
        if call.result_variable and variable != call.result:
            report.problems.append(f"{name}: variable {call.result_variable}={variable!r}, result {call.result!r}")
        if system is not None and call.operation == "http.request":
            effect = system.effects.get(call.idempotency_key)
            got = ((call.result or {}).get("json") or {}).get("effect_id")
            if effect is None or got != effect.effect_id:
                report.problems.append(
                    f"{name}: applied effect {got}, the system's effect for its key is "
                    f"{effect.effect_id if effect else None}"
                )
        return
    if call.status in (CallStatus.CANCELLED, CallStatus.SUCCEEDED):
        # The task was taken away (boundary event, instance ended): no result may reach the instance.
        report.ignored_results += call.status == CallStatus.SUCCEEDED
        if completions or took_result:
            report.problems.append(f"{name}: {call.status} but its task completed ({completions} events)")
        if call.result_variable and call.result_variable in instance.variables:
            report.problems.append(f"{name}: a late result reached variable {call.result_variable}")
        if instance.status == InstanceStatus.COMPLETED and call.status == CallStatus.SUCCEEDED and not call.applied_at:
            report.problems.append(f"{name}: a late result is still waiting to be applied")
        return
    if call.status in OPEN_STATUSES and instance.status != InstanceStatus.COMPLETED:
        return  # checked by the state invariant (a documented wait when allowed)
    report.problems.append(f"{name} ended {call.status}: {call.last_error or call.error_code}")


def _check_system(
    calls: list[OutboundCall], system: ExternalSystem, max_requests_per_key: int | None, report: Report
) -> None:
    keys = {call.idempotency_key for call in calls if call.operation == "http.request"}
    per_key = system.requests_per_key()
    report.requests = sum(per_key.values())
    report.replays = sum(1 for r in system.requests if r.replay)
    strangers = set(per_key) - keys
    if strangers:
        report.problems.append(f"the system saw keys of no call here: {sorted(strangers)[:5]}")
    effects_per_key = Counter(system.performed)
    doubled = {key: n for key, n in effects_per_key.items() if n > 1}
    if doubled:
        report.problems.append(f"more than one effect for keys {doubled}")
    if max_requests_per_key is not None:
        over = {key: n for key, n in per_key.items() if n > max_requests_per_key}
        if over:
            report.problems.append(f"keys sent more than {max_requests_per_key} times: {over}")
