"""`network.*` against the sandbox, and its `provisioning_completed` message reaching a waiting instance."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from apps.instances.models import InstanceStatus, ProcessInstance
from apps.integrations.contract import ConnectorError
from apps.integrations.network.connector import NetworkConnector
from tests.apps.sandbox import kit
from tests.apps.sandbox.kit import Sandbox, context, wait_until
from tests.apps.sandbox.models import waits_for

pytestmark = pytest.mark.django_db(transaction=True)
systems = kit.systems  # the fixture: the sandbox on the live server
REQUEST = {"order_id": "O-7", "service": "fibre_100", "address": "Hauptstr. 1, Berlin"}


def completed(instance: ProcessInstance) -> bool:
    instance.refresh_from_db()
    return instance.status == InstanceStatus.COMPLETED


def test_provisioning_completes_a_waiting_instance_by_message(
    systems: Sandbox, start: Callable[..., ProcessInstance]
) -> None:
    instance = start(waits_for("provisioning_completed", "order_id"), order_id="O-7")
    assert instance.status == InstanceStatus.WAITING

    accepted = NetworkConnector().call("request_provisioning", REQUEST, context("network.request_provisioning"))

    assert accepted["status"] == "accepted" and accepted["provisioning_id"].startswith("prov_")
    wait_until(lambda: completed(instance), what="provisioning_completed delivery")
    assert instance.variables["provisioning_id"] == accepted["provisioning_id"]
    assert instance.variables["status"] == "active"


def test_a_repeated_request_returns_the_same_provisioning(systems: Sandbox) -> None:
    systems.knobs("network", callback_delay=3600.0)  # nobody waits here: keep the message back
    network = NetworkConnector()
    first = network.call("request_provisioning", REQUEST, context("network.request_provisioning"))
    again = network.call("request_provisioning", REQUEST, context("network.request_provisioning"))
    assert first == again


def test_activate_and_cancel_and_their_business_errors(systems: Sandbox) -> None:
    systems.knobs("network", callback_delay=0.0, failed_rate=1.0)
    network = NetworkConnector()
    failed = network.call("request_provisioning", REQUEST, context("network.request_provisioning"))
    ids = {"order_id": "O-7", "provisioning_id": failed["provisioning_id"]}

    with pytest.raises(ConnectorError) as refused:
        network.call("activate_service", ids, context("network.activate_service"))
    assert refused.value.bpmn_error_code == "provisioning_failed"

    systems.knobs("network", failed_rate=0.0)
    ok = network.call("request_provisioning", {**REQUEST, "order_id": "O-8"}, context("network.request_provisioning"))
    good = {"order_id": "O-8", "provisioning_id": ok["provisioning_id"]}
    assert network.call("activate_service", good, context("network.activate_service")) == {"status": "active"}
    cancel = {"provisioning_id": ok["provisioning_id"]}
    assert network.call("cancel_provisioning", cancel, context("network.cancel_provisioning")) == {
        "status": "cancelled"}
    with pytest.raises(ConnectorError) as unknown:
        network.call("cancel_provisioning", {"provisioning_id": "prov_x"}, context("network.cancel_provisioning"))
    assert unknown.value.bpmn_error_code == "provisioning_not_found"


def test_a_failed_provisioning_is_reported_as_failed(systems: Sandbox, start: Callable[..., ProcessInstance]) -> None:
    systems.knobs("network", failed_rate=1.0)
    instance = start(waits_for("provisioning_completed", "order_id"), order_id="O-7")

    NetworkConnector().call("request_provisioning", REQUEST, context("network.request_provisioning"))

    wait_until(lambda: completed(instance), what="provisioning_completed delivery")
    assert instance.variables["status"] == "failed"


def test_network_down_is_retryable(systems: Sandbox) -> None:
    systems.knobs("network", failure_rate=1.0)
    with pytest.raises(ConnectorError) as down:
        NetworkConnector().call("request_provisioning", REQUEST, context("network.request_provisioning"))
    assert down.value.retryable is True
