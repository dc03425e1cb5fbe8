"""Protection of the systems we call: circuit breaker, concurrency limit, pause and resume."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.utils import timezone

from apps.instances.models import ProcessInstance
from apps.integrations.models import CallStatus, ExternalSystem, OutboundCall
from apps.integrations.protection import system_get_or_create
from apps.integrations.services import call_claim
from apps.integrations.sweeper import outbox_sweep
from apps.integrations.systems import system_pause, system_resume
from tests.apps.integrations import samples
from tests.apps.integrations.conftest import Testkit, make_due, only_call, run

Start = Callable[..., ProcessInstance]


def breaker() -> ExternalSystem:
    return ExternalSystem.objects.get(name="testkit")


def test_the_breaker_opens_after_n_failures_fails_fast_half_opens_after_the_cooldown_and_closes_on_success(
    start: Start, testkit: Testkit
) -> None:
    system_get_or_create("testkit")
    ExternalSystem.objects.filter(name="testkit").update(failure_threshold=2, cooldown_seconds=30)
    testkit.mode = "down"
    first, second, third = (only_call(start(samples.testkit(f"flow_{n}"), value=n)) for n in range(3))

    assert run(first) == run(second) == "retry_scheduled"
    assert breaker().breaker_state == "open"

    assert run(third) == "breaker_open"  # failed fast: not attempted, not counted
    assert len(testkit.calls) == 2
    third.refresh_from_db()
    assert (third.status, third.attempts) == ("pending", 0)
    half_open_at = breaker().opened_at + timedelta(seconds=30)  # type: ignore[operator]
    assert half_open_at <= third.next_attempt_at <= half_open_at + timedelta(seconds=2)

    # The cool-down passes: one probe goes through; the system is fixed, so it closes the breaker.
    ExternalSystem.objects.filter(name="testkit").update(opened_at=timezone.now() - timedelta(seconds=31))
    testkit.mode = "ok"
    make_due(third)
    assert run(third) == "result"
    assert (breaker().breaker_state, breaker().consecutive_failures) == ("closed", 0)


def test_a_half_open_breaker_lets_one_probe_through_and_a_failed_probe_opens_it_again(
    start: Start, testkit: Testkit
) -> None:
    system_get_or_create("testkit")
    long_ago = timezone.now() - timedelta(minutes=5)
    ExternalSystem.objects.filter(name="testkit").update(breaker_state="open", opened_at=long_ago)
    probe, other = (only_call(start(samples.testkit(f"flow_{n}"), value=n)) for n in range(2))

    claim = call_claim(call_id=probe.pk)  # the probe is running...
    assert not isinstance(claim, str)
    assert breaker().breaker_state == "half_open"
    assert run(other) == "breaker_half_open"  # ...so nobody else goes

    testkit.mode = "down"
    from apps.integrations.invoke import invoke
    from apps.integrations.services import call_record

    assert call_record(claim=claim, outcome=invoke(claim.call, claim.operation)) == "retry_scheduled"
    assert breaker().breaker_state == "open"


def test_calls_over_the_concurrency_limit_are_rescheduled_not_failed(start: Start, testkit: Testkit) -> None:
    system_get_or_create("testkit")
    ExternalSystem.objects.filter(name="testkit").update(max_concurrency=1)
    busy, waiting = (only_call(start(samples.testkit(f"flow_{n}"), value=n)) for n in range(2))
    assert not isinstance(call_claim(call_id=busy.pk), str)  # one call is running

    before = timezone.now()
    assert run(waiting) == "concurrency_limit"

    waiting.refresh_from_db()
    assert (waiting.status, waiting.attempts, testkit.calls) == ("pending", 0, [])
    assert before < waiting.next_attempt_at <= before + timedelta(seconds=2)


def test_a_paused_system_keeps_its_calls_waiting_and_runs_them_after_resume(
    start: Start, testkit: Testkit, broker: object
) -> None:
    system_pause(name="testkit")
    instance = start(samples.testkit(), value=3)
    call = only_call(instance)

    assert run(call) == "system_paused"
    OutboundCall.objects.filter(pk=call.pk).update(enqueued_at=timezone.now() - timedelta(hours=1))
    assert outbox_sweep()["sent"] == 0  # the sweeper leaves a paused system alone
    assert (only_call(instance).status, testkit.calls) == (CallStatus.PENDING, [])

    system_resume(name="testkit")
    assert outbox_sweep()["sent"] == 1  # due again: sent
    assert run(call) == "result"
    instance.refresh_from_db()
    assert (instance.status, instance.variables["pong"]) == ("completed", {"pong": 3})


def test_limits_come_from_the_connector_declaration_then_the_settings(testkit: Testkit, db: None) -> None:
    system = system_get_or_create("testkit")
    core = system_get_or_create("core")

    assert (system.max_concurrency, system.failure_threshold, system.cooldown_seconds) == (4, 100, 30.0)
    assert (core.max_concurrency, core.failure_threshold) == (8, 5)
