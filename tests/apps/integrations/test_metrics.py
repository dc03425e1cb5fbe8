"""`/metrics`: Prometheus text with connector, breaker and outbox series; no auth."""

from __future__ import annotations

from collections.abc import Callable

from django.test import Client

from apps.instances.models import ProcessInstance
from apps.integrations.models import ExternalSystem
from apps.integrations.protection import system_get_or_create
from tests.apps.integrations import samples
from tests.apps.integrations.conftest import only_call, run

Start = Callable[..., ProcessInstance]


def test_metrics_expose_connector_calls_latency_breaker_state_and_backlog(start: Start) -> None:
    run(only_call(start(samples.ECHO, value=1)))
    start(samples.ECHO, value=2)  # one waiting in the outbox
    system_get_or_create("http")
    ExternalSystem.objects.filter(name="http").update(breaker_state="open")

    response = Client().get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert 'patchbay_connector_calls_total{operation="core.echo",outcome="result"}' in text
    assert 'patchbay_connector_call_duration_seconds_count{operation="core.echo"}' in text
    assert 'patchbay_circuit_breaker_state{system="http"} 2.0' in text
    assert 'patchbay_circuit_breaker_state{system="core"} 0.0' in text
    assert 'patchbay_outbox_backlog{status="pending",system="core"} 1.0' in text
    assert 'patchbay_outbox_running{system="core"} 0.0' in text
