"""Technical failures: back-off with jitter, then an incident; retrying the incident re-arms the call."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.instances.models import Incident, InstanceEvent, ProcessInstance
from apps.integrations.contract import RetryPolicy
from apps.integrations.models import CallStatus
from apps.integrations.registry import operation_get
from tests.apps.integrations import samples
from tests.apps.integrations.conftest import Testkit, make_due, only_call, run

Start = Callable[..., ProcessInstance]


def test_backoff_grows_exponentially_and_its_jitter_stays_within_bounds() -> None:
    policy = RetryPolicy(max_attempts=6, base_delay=1.0, multiplier=2.0, max_delay=10.0, jitter=0.2)
    rng = random.Random(7)

    for attempt, raw in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0)]:
        delays = [policy.delay(attempt, rng=rng) for _ in range(200)]
        assert raw * 0.8 <= min(delays) and max(delays) <= raw * 1.2
        assert len(set(delays)) > 1  # jittered, so failures together do not retry together
    assert not policy.exhausted(5) and policy.exhausted(6)


def test_a_technical_failure_is_retried_with_growing_backoff_then_opens_an_incident(
    start: Start, testkit: Testkit
) -> None:
    testkit.mode = "down"
    instance = start(samples.testkit(), value=1)
    call = only_call(instance)
    waits = []

    for _ in range(2):
        before = timezone.now()
        assert run(call) == "retry_scheduled"
        call.refresh_from_db()
        assert call.status == CallStatus.RETRYING
        waits.append((call.next_attempt_at - before).total_seconds())
        assert run(call) == "not_due"  # an early delivery does not bypass the back-off
        make_due(call)
    assert run(call) == "incident"

    # Testkit: base 10 s, x2, jitter 20 %.
    assert 8 <= waits[0] <= 12.1 and 16 <= waits[1] <= 24.1
    call.refresh_from_db()
    assert (call.status, call.attempts, call.last_error) == ("failed", 3, "connection refused")
    assert [c["key"] for c in testkit.calls] == [call.idempotency_key] * 3  # stable across retries
    [incident] = Incident.objects.filter(instance=instance)
    assert (incident.kind, incident.status, incident.attempts) == ("service_call_failed", "open", 3)
    assert incident.message == "testkit.ping failed after 3 attempt(s): connection refused"
    assert InstanceEvent.objects.filter(instance=instance, type="incident.opened").count() == 1


def spend_retries(call: Any) -> None:
    while run(call) == "retry_scheduled":
        make_due(call)


def test_retrying_the_incident_rearms_the_call_and_with_the_system_fixed_the_instance_completes(
    start: Start, testkit: Testkit, clients: dict[str, APIClient]
) -> None:
    testkit.mode = "down"
    instance = start(samples.testkit(), value=5)
    call = only_call(instance)
    spend_retries(call)
    incident = Incident.objects.get(instance=instance)

    response = clients["ops"].post(f"/api/v1/incidents/{incident.pk}/retry/", {}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "open"  # open until the call answers
    call.refresh_from_db()
    assert (call.status, call.attempts, call.incident_id) == ("pending", 0, incident.pk)

    testkit.mode = "ok"
    assert run(call) == "result"

    instance.refresh_from_db()
    assert instance.status == "completed"
    assert instance.variables["pong"] == {"pong": 5}
    incident.refresh_from_db()
    assert incident.status == "resolved"
    resolved = InstanceEvent.objects.get(instance=instance, type="incident.resolved")
    assert resolved.data["reason"] == "service_call_answered"


def test_a_rearmed_call_that_fails_again_counts_its_attempts_on_the_same_incident(
    start: Start, testkit: Testkit, clients: dict[str, APIClient]
) -> None:
    testkit.mode = "down"
    instance = start(samples.testkit(), value=5)
    call = only_call(instance)
    spend_retries(call)
    incident = Incident.objects.get(instance=instance)
    clients["ops"].post(f"/api/v1/incidents/{incident.pk}/retry/", {}, format="json")

    spend_retries(call)

    incident.refresh_from_db()
    assert (incident.status, incident.attempts) == ("open", 6)
    assert Incident.objects.filter(instance=instance).count() == 1
    assert InstanceEvent.objects.filter(instance=instance, type="incident.retry_failed").count() == 1


@pytest.mark.parametrize(("variables", "status", "code"), [({"x": 1}, 400, "variables_not_applicable")])
def test_a_service_call_retry_takes_no_variables(
    start: Start, testkit: Testkit, clients: dict[str, APIClient], variables: Any, status: int, code: str
) -> None:
    testkit.mode = "down"
    instance = start(samples.testkit(), value=5)
    spend_retries(only_call(instance))
    incident = Incident.objects.get(instance=instance)

    response = clients["ops"].post(f"/api/v1/incidents/{incident.pk}/retry/", {"variables": variables}, format="json")

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert only_call(instance).status == "failed"


def test_deployment_overrides_of_the_retry_policy_apply(settings: Any) -> None:
    settings.PATCHBAY_RETRY_POLICIES = {"http": {"max_attempts": 2}, "http.request": {"base_delay": 0.1}}

    policy = operation_get("http.request").retry  # type: ignore[union-attr]

    assert (policy.max_attempts, policy.base_delay, policy.max_delay) == (2, 0.1, 60.0)


def test_a_call_whose_backoff_is_not_over_is_left_alone(start: Start, testkit: Testkit) -> None:
    instance = start(samples.testkit(), value=1)
    call = only_call(instance)
    type(call).objects.filter(pk=call.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=1))

    assert run(call) == "not_due"
    assert testkit.calls == []
