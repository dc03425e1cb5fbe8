"""`http.request` against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from apps.instances.models import Incident, ProcessInstance
from apps.integrations.contract import CallContext, ConnectorError
from apps.integrations.http.connector import HttpConnector
from apps.integrations.models import CallStatus
from tests.apps.integrations import samples
from tests.apps.integrations.conftest import only_call, run
from tests.apps.integrations.httpserver import Script, serving

Start = Callable[..., ProcessInstance]


@pytest.fixture
def server() -> Iterator[Script]:
    with serving(Script()) as script:
        yield script


def start_http(start: Start, server: Script, **extra: Any) -> ProcessInstance:
    variables = {"url": server.url, "payload": {"order": 7}, "bpmn_errors": {}, **extra}
    return start(samples.http(), **variables)


def test_a_request_returns_status_json_and_headers_and_sends_the_idempotency_key(
    start: Start, server: Script
) -> None:
    server.body = {"order_id": "A-7"}
    instance = start_http(start, server)
    call = only_call(instance)

    assert run(call) == "result"

    instance.refresh_from_db()
    response = instance.variables["response"]
    assert (response["status"], response["json"]) == (200, {"order_id": "A-7"})
    assert response["headers"]["content-type"] == "application/json"
    [request] = server.requests
    assert (request["method"], request["path"], request["json"]) == ("POST", "/orders", {"order": 7})
    assert request["headers"]["Idempotency-Key"] == call.idempotency_key == f"{instance.pk}:{call.call_id}"


def test_a_5xx_is_retried_and_the_retry_carries_the_same_idempotency_key(start: Start, server: Script) -> None:
    server.status = 503
    instance = start_http(start, server)
    call = only_call(instance)

    assert run(call) == "retry_scheduled"
    call.refresh_from_db()
    assert call.status == CallStatus.RETRYING
    assert call.last_error.startswith("HTTP 503 from")

    server.status = 200
    type(call).objects.filter(pk=call.pk).update(next_attempt_at=call.created_at)
    assert run(call) == "result"
    keys = {r["headers"]["Idempotency-Key"] for r in server.requests}
    assert keys == {call.idempotency_key} and len(server.requests) == 2


def test_a_4xx_is_a_permanent_failure_with_an_incident(start: Start, server: Script) -> None:
    server.status = 422
    instance = start_http(start, server)

    assert run(only_call(instance)) == "incident"

    assert only_call(instance).attempts == 1
    assert "HTTP 422" in Incident.objects.get(instance=instance).message


def test_a_4xx_mapped_in_bpmn_errors_is_thrown_as_that_bpmn_error(start: Start, server: Script) -> None:
    server.status = 404
    instance = start_http(start, server, bpmn_errors={"404": "order_not_found"})

    assert run(only_call(instance)) == "bpmn_error"

    instance.refresh_from_db()
    assert instance.status == "failed"  # nothing in this model catches it
    assert "order_not_found" in Incident.objects.get(instance=instance).message


def test_a_connection_error_and_a_timeout_are_retryable() -> None:
    connector = HttpConnector()
    context = CallContext("http.request", "key-1", timeout=0.3, attempt=1, instance_id="i", activity_id="a")

    with pytest.raises(ConnectorError) as refused:
        connector.call("request", {"url": "http://127.0.0.1:9/"}, context)
    with serving(Script(delay=1.0)) as slow, pytest.raises(ConnectorError) as timed_out:
        connector.call("request", {"url": slow.url}, context)

    assert refused.value.retryable and timed_out.value.retryable
    assert "timed out after 0.3s" in timed_out.value.message


def test_bad_parameters_fail_permanently_before_any_request(start: Start, server: Script) -> None:
    instance = start(samples.http("bad_url"), url="ftp://example.com/x", payload=None, bpmn_errors={})

    assert run(only_call(instance)) == "incident"

    assert server.requests == []
    message = only_call(instance).last_error
    assert message.startswith("invalid parameters for http.request: url: 'ftp://example.com/x' does not match")
