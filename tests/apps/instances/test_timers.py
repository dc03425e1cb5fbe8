"""The inline due-timer sweep `timers_fire_due` and the Celery tasks of the dispatching sweep."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.definitions.models import ProcessDefinition
from apps.instances import tasks
from apps.instances.models import Incident, InstanceEvent, ProcessInstance
from apps.instances.services import (
    incident_retry,
    instance_resume,
    instance_start,
    instance_suspend,
)
from apps.instances.timers_sweep import timers_fire_due
from tests.apps.instances import samples

Deploy = Callable[[bytes], ProcessDefinition]


@pytest.fixture
def waiting(deploy: Deploy, users: dict[str, Any]) -> ProcessInstance:
    deploy(samples.HOURLY)
    instance = instance_start(process_key="hourly", started_by=users["agent"])
    instance.refresh_from_db()
    return instance


def test_a_started_timer_sets_next_timer_at(waiting: ProcessInstance) -> None:
    assert waiting.status == "waiting"
    assert waiting.active_activities == ["wait_an_hour"]
    assert waiting.next_timer_at is not None
    in_an_hour = timezone.now() + timedelta(hours=1)
    assert in_an_hour - timedelta(minutes=1) < waiting.next_timer_at <= in_an_hour


def test_the_sweep_leaves_timers_that_are_not_due(waiting: ProcessInstance) -> None:
    assert timers_fire_due() == 0

    waiting.refresh_from_db()
    assert waiting.status == "waiting"


def test_the_sweep_fires_a_due_timer_and_the_instance_runs_on(waiting: ProcessInstance) -> None:
    later = timezone.now() + timedelta(hours=2)

    assert timers_fire_due(now=later) == 1

    waiting.refresh_from_db()
    assert waiting.status == "completed"
    assert waiting.next_timer_at is None
    assert waiting.completed_activities[-3:] == ["wait_an_hour", "after_wait", "end"]
    fired = InstanceEvent.objects.get(instance=waiting, type="timer.fired")
    assert (fired.activity_id, fired.actor) == ("wait_an_hour", "system")
    assert timers_fire_due(now=later) == 0


def test_the_sweep_takes_due_instances_in_order_up_to_the_limit(
    deploy: Deploy, users: dict[str, Any]
) -> None:
    deploy(samples.HOURLY)
    first = instance_start(process_key="hourly", started_by=users["agent"])
    second = instance_start(process_key="hourly", started_by=users["agent"])
    later = timezone.now() + timedelta(hours=2)

    assert timers_fire_due(now=later, limit=1) == 1

    assert ProcessInstance.objects.get(pk=first.pk).status == "completed"
    assert ProcessInstance.objects.get(pk=second.pk).status == "waiting"


def test_a_suspended_instance_keeps_its_timer_until_resumed(
    waiting: ProcessInstance, users: dict[str, Any]
) -> None:
    later = timezone.now() + timedelta(hours=2)
    instance_suspend(instance=waiting, actor=users["ops"])

    assert timers_fire_due(now=later) == 0

    instance_resume(instance=waiting, actor=users["ops"])
    assert timers_fire_due(now=later) == 1
    waiting.refresh_from_db()
    assert waiting.status == "completed"


def test_a_failing_timer_step_opens_one_incident_and_its_retry_fires_again(
    deploy: Deploy, users: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy(
        samples.model(
            "late_ratio",
            f"""
{samples.START}
{samples.timer("wait_a_bit", "PT1H")}
{samples.script("compute_ratio", "ratio = total / count")}
{samples.END}
{samples.chain("start", "wait_a_bit", "compute_ratio", "end")}
""",
        )
    )
    instance = instance_start(
        process_key="late_ratio", variables={"total": 1, "count": 0}, started_by=users["agent"]
    )
    instance.refresh_from_db()
    snapshot = instance.snapshot
    later = timezone.now() + timedelta(hours=2)

    assert timers_fire_due(now=later) == 1
    assert timers_fire_due(now=later) == 0  # not picked again: no incident per sweep

    instance.refresh_from_db()
    assert instance.snapshot == snapshot
    assert instance.status == "waiting"
    assert instance.next_timer_at is None
    [incident] = Incident.objects.filter(instance=instance)
    assert incident.command == {"kind": "fire_timers"}
    assert incident.kind == "expression_error" and incident.activity_id == "compute_ratio"
    # Two hours on, the retry fires the (long due) timer again; it still divides by zero.
    monkeypatch.setattr(timezone, "now", lambda: later)
    again = incident_retry(incident_id=incident.pk, actor=users["ops"])
    assert (again.status, again.attempts) == ("open", 2)
    instance.refresh_from_db()
    assert instance.snapshot == snapshot


def test_retrying_a_timer_incident_before_the_timer_is_due_hands_it_back_to_the_sweep(
    deploy: Deploy, users: dict[str, Any]
) -> None:
    deploy(samples.HOURLY)
    instance = instance_start(process_key="hourly", started_by=users["agent"])
    incident = Incident.objects.create(
        instance=instance,
        kind="step_failed",
        message="worker crashed",
        command={"kind": "fire_timers"},
        opened_at=timezone.now(),
    )
    ProcessInstance.objects.filter(pk=instance.pk).update(next_timer_at=None)

    assert incident_retry(incident_id=incident.pk, actor=users["ops"]).status == "resolved"

    instance.refresh_from_db()
    assert instance.status == "waiting"
    assert instance.next_timer_at is not None  # the sweep will fire it when it is due


def test_the_celery_task_sends_a_due_timer_to_the_pool_and_the_batch_task_steps_it(
    waiting: ProcessInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    ProcessInstance.objects.filter(pk=waiting.pk).update(next_timer_at=timezone.now() - timedelta(seconds=1))
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr(tasks.fire_timer_batch, "apply_async", lambda args, **options: sent.append(args))

    assert tasks.fire_due_timers.apply().get() == 1

    [(ids, fire_at, attempt)] = sent
    assert (ids, attempt) == ([str(waiting.pk)], 0)
    # The engine's timer is still an hour out: the instance is stepped, nothing fires, it waits on.
    assert tasks.fire_timer_batch.apply((ids, fire_at, attempt)).get() == 1
    waiting.refresh_from_db()
    assert waiting.status == "waiting"
    assert waiting.next_timer_at is not None and waiting.next_timer_at > timezone.now()


def test_corrected_variables_do_not_apply_to_a_timer_step(waiting: ProcessInstance, users: dict[str, Any]) -> None:
    from apps.core.errors import ApiError

    incident = Incident.objects.create(
        instance=waiting, kind="step_failed", message="x", command={"kind": "fire_timers"}, opened_at=timezone.now()
    )

    with pytest.raises(ApiError) as err:
        incident_retry(incident_id=incident.pk, actor=users["ops"], variables={"a": 1})

    assert err.value.code == "variables_not_applicable"
    incident.refresh_from_db()
    assert incident.attempts == 1
