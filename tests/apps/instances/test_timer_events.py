"""Timers of instances through the sweep: boundary timers, event-based gateway races, missed timers."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.core.errors import NotFound
from apps.definitions.models import ProcessDefinition
from apps.instances.messaging import message_correlate
from apps.instances.models import InstanceEvent, MessageSubscription, ProcessInstance
from apps.instances.services import instance_start
from apps.instances.timers_sweep import timers_fire_due
from tests.apps.instances import messaging_samples as ms
from tests.apps.instances import samples

Deploy = Callable[[bytes], ProcessDefinition]


def started(deploy: Deploy, content: bytes, key: str, users: dict[str, Any], **variables: Any) -> ProcessInstance:
    deploy(content)
    instance = instance_start(process_key=key, variables=variables, started_by=users["agent"])
    instance.refresh_from_db()
    return instance


def fired_events(instance: ProcessInstance) -> list[str]:
    events = InstanceEvent.objects.filter(instance=instance, type="timer.fired")
    return list(events.values_list("activity_id", flat=True))


def test_an_interrupting_boundary_timer_cancels_the_task(deploy: Deploy, users: dict[str, Any]) -> None:
    instance = started(deploy, ms.boundary_timer("strict", interrupting=True), "strict", users)
    assert "work" in instance.active_activities

    assert timers_fire_due(now=timezone.now() + timedelta(hours=2)) == 1

    instance.refresh_from_db()
    assert instance.status == "completed"
    assert instance.variables["escalated"] is True
    assert "work" not in instance.completed_activities  # cancelled, never completed
    assert instance.completed_activities[-3:] == ["deadline", "escalate", "end_escalated"]
    assert "end" not in instance.completed_activities


def test_a_non_interrupting_boundary_timer_keeps_the_task(deploy: Deploy, users: dict[str, Any]) -> None:
    instance = started(deploy, ms.boundary_timer("lenient", interrupting=False), "lenient", users)

    assert timers_fire_due(now=timezone.now() + timedelta(hours=2)) == 1

    instance.refresh_from_db()
    assert instance.status == "waiting"
    assert instance.variables["escalated"] is True
    assert "work" in instance.active_activities
    assert {"escalate", "end_escalated"} <= set(instance.completed_activities)
    assert instance.next_timer_at is None  # a duration fires once


def test_event_based_gateway_message_first_the_timer_path_never_runs(deploy: Deploy, users: dict[str, Any]) -> None:
    instance = started(deploy, ms.RACE, "race", users)
    assert instance.next_timer_at is not None
    assert MessageSubscription.objects.filter(instance=instance, name="answer").exists()

    outcome = message_correlate(name="answer", actor=users["ops"])

    assert outcome.delivered == [instance.pk]
    instance.refresh_from_db()
    assert instance.status == "completed" and instance.variables["outcome"] == "answer"
    assert instance.next_timer_at is None
    assert timers_fire_due(now=timezone.now() + timedelta(hours=2)) == 0
    assert "timed_out" not in instance.completed_activities
    assert fired_events(instance) == []


def test_event_based_gateway_timer_first_the_message_path_never_runs(deploy: Deploy, users: dict[str, Any]) -> None:
    instance = started(deploy, ms.RACE, "race", users)

    assert timers_fire_due(now=timezone.now() + timedelta(hours=2)) == 1

    instance.refresh_from_db()
    assert instance.status == "completed" and instance.variables["outcome"] == "timeout"
    assert not MessageSubscription.objects.filter(instance=instance).exists()
    with pytest.raises(NotFound):
        message_correlate(name="answer", actor=users["ops"])
    assert "got_answer" not in instance.completed_activities


def test_a_timer_that_fell_due_while_no_sweep_ran_fires_once(deploy: Deploy, users: dict[str, Any]) -> None:
    instance = started(deploy, samples.HOURLY, "hourly", users)
    # As if the system had been down for five hours: the next sweep runs long after the due time.
    much_later = timezone.now() + timedelta(hours=5)

    assert timers_fire_due(now=much_later) == 1
    assert timers_fire_due(now=much_later + timedelta(seconds=1)) == 0

    instance.refresh_from_db()
    assert instance.status == "completed"
    assert fired_events(instance) == ["wait_an_hour"]


def test_missed_rounds_of_a_cycle_timer_fire_once_then_the_cycle_goes_on(
    deploy: Deploy, users: dict[str, Any]
) -> None:
    nagging = samples.model(
        "nagging",
        f"""
{samples.START}
<bpmn:userTask id="handle"/>
<bpmn:boundaryEvent id="nag" attachedToRef="handle" cancelActivity="false">
  <bpmn:timerEventDefinition><bpmn:timeCycle>R5/PT1S</bpmn:timeCycle></bpmn:timerEventDefinition>
</bpmn:boundaryEvent>
{samples.script("count_nag", "nags = nags + 1")}
<bpmn:endEvent id="nag_end"/>
{samples.END}
{samples.chain("start", "handle", "end")}
{samples.chain("nag", "count_nag", "nag_end")}
""",
    )
    instance = started(deploy, nagging, "nagging", users, nags=0)
    # No sweep runs for 2.5 s: two rounds are missed. The sweep fires on the wall clock, so this test
    # waits for real. Missed rounds fire once (Camunda's behaviour, `bpmn.semantics.timers`), and the
    # cycle goes on from its next round after now.
    time.sleep(2.5)

    assert timers_fire_due() == 1
    assert timers_fire_due() == 0

    instance.refresh_from_db()
    assert fired_events(instance) == ["nag"]  # one step on the next sweep ...
    assert instance.completed_activities.count("count_nag") == 1  # ... firing the missed rounds once
    assert instance.next_timer_at is not None and instance.next_timer_at > timezone.now()
    assert "handle" in instance.active_activities
