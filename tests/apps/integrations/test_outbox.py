"""The outbox: one row per service call written in the step, sent after commit, run and applied once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apps.instances.models import Incident, InstanceEvent, ProcessInstance
from apps.instances.services import instance_cancel
from apps.integrations.applying import call_apply
from apps.integrations.models import CallStatus, OutboundCall
from tests.apps.integrations import samples
from tests.apps.integrations.conftest import MemoryBroker, Testkit, only_call, run

Start = Callable[..., ProcessInstance]


def test_a_step_writes_one_pending_row_per_service_call(start: Start) -> None:
    instance = start(samples.TWO_CALLS)

    calls = OutboundCall.objects.filter(instance=instance).order_by("activity_id")
    assert [(c.activity_id, c.operation, c.system, c.status, c.attempts) for c in calls] == [
        ("first", "core.echo", "core", "pending", 0),
        ("second", "http.request", "http", "pending", 0),
    ]
    assert [c.parameters for c in calls] == [{"n": 1}, {"url": "http://127.0.0.1:9/"}]
    assert {c.idempotency_key for c in calls} == {f"{instance.pk}:{c.call_id}" for c in calls}
    assert instance.status == "waiting"


def test_calls_are_sent_only_after_the_step_commits_one_message_each_on_the_system_queue(
    start: Start, broker: MemoryBroker, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        instance = start(samples.TWO_CALLS)
    assert broker.call_ids("core") == []  # nothing left before the commit

    for callback in callbacks:
        callback()

    calls = {c.system: c.pk for c in OutboundCall.objects.filter(instance=instance)}
    assert broker.call_ids("core") == [calls["core"]]
    assert broker.call_ids("http") == [calls["http"]]


def test_running_the_task_resumes_the_instance_with_the_result_in_the_result_variable(start: Start) -> None:
    instance = start(samples.ECHO, value={"msisdn": "+4912345"})
    call = only_call(instance)

    assert run(call) == "result"

    instance.refresh_from_db()
    assert instance.status == "completed"
    assert instance.variables["echoed"] == {"value": {"msisdn": "+4912345"}}
    call.refresh_from_db()
    assert (call.status, call.attempts, call.result) == ("succeeded", 1, {"value": {"msisdn": "+4912345"}})
    assert call.applied_at is not None


def test_a_redelivered_task_and_a_second_apply_change_nothing(start: Start) -> None:
    instance = start(samples.ECHO, value=1)
    call = only_call(instance)

    assert run(call) == "result"
    assert run(call) == "not_open"  # the broker delivered it again
    assert call_apply(call_id=call.pk) == "already_applied"

    events = InstanceEvent.objects.filter(instance=instance, type="service_task.completed")
    assert events.count() == 1
    assert only_call(instance).attempts == 1


def test_a_bpmn_error_is_caught_by_the_error_boundary_event(start: Start) -> None:
    instance = start(samples.CAUGHT)
    call = only_call(instance)

    assert run(call) == "bpmn_error"

    instance.refresh_from_db()
    assert instance.status == "completed"
    assert instance.variables["declined"] is True
    assert "handle_decline" in instance.completed_activities
    assert (only_call(instance).status, only_call(instance).error_code) == ("failed", "card_declined")


def test_an_uncaught_bpmn_error_fails_the_instance_with_an_incident(start: Start) -> None:
    instance = start(samples.UNCAUGHT)

    run(only_call(instance))

    instance.refresh_from_db()
    assert instance.status == "failed"
    [incident] = Incident.objects.filter(instance=instance)
    assert incident.kind == "uncaught_error"
    assert "card_declined" in incident.message


def test_a_result_that_is_not_json_is_a_permanent_failure_and_the_instance_is_unchanged(
    start: Start, testkit: Testkit
) -> None:
    testkit.mode = "unserialisable"
    instance = start(samples.testkit(), value=1)

    assert run(only_call(instance)) == "incident"

    call = only_call(instance)
    assert (call.status, call.attempts) == ("failed", 1)  # not retried: it would not fit next time either
    assert "not JSON-serialisable" in call.last_error
    instance.refresh_from_db()
    assert (instance.status, instance.active_activities) == ("waiting", ["call"])
    [incident] = Incident.objects.filter(instance=instance)
    assert (incident.kind, incident.attempts, incident.activity_id) == ("service_call_failed", 1, "call")
    assert incident.command == {"kind": "retry_service_call", "call_id": call.pk}


def test_cancelling_the_instance_cancels_its_open_calls_and_a_late_result_is_dropped(start: Start) -> None:
    instance = start(samples.ECHO, value=1)
    call = only_call(instance)

    instance_cancel(instance=instance, actor=None)

    call.refresh_from_db()
    assert call.status == CallStatus.CANCELLED
    assert run(call) == "not_open"
    instance.refresh_from_db()
    assert instance.status == "cancelled"


def test_a_connector_that_ignores_its_timeout_does_not_hold_the_worker(start: Start, testkit: Testkit) -> None:
    testkit.mode = "hang"
    instance = start(samples.testkit(), value=1)

    assert run(only_call(instance)) == "retry_scheduled"

    call = only_call(instance)
    assert (call.status, call.last_error) == ("retrying", "no answer within 0.5s")
