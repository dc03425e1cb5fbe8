"""`payment.charge` / `payment.refund` against the sandbox gateway: idempotency, declines, the webhook."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from apps.instances.models import InstanceStatus, ProcessInstance
from apps.integrations.contract import ConnectorError
from apps.integrations.payment.connector import PaymentConnector
from apps.sandbox.models import Charge
from tests.apps.sandbox import kit
from tests.apps.sandbox.kit import Sandbox, context, wait_until
from tests.apps.sandbox.models import waits_for

pytestmark = pytest.mark.django_db(transaction=True)
systems = kit.systems  # the fixture: the sandbox on the live server
CHARGE = {"payment_id": "PAY-1", "customer_id": "C-1", "amount": 49.9, "currency": "EUR",
          "card_number": "4242 4242 4242 4242"}


def test_the_same_idempotency_key_returns_the_same_charge(systems: Sandbox) -> None:
    systems.knobs("payment", callback_delay=3600.0)  # nobody waits for the webhook here
    payment = PaymentConnector()

    first = payment.call("charge", CHARGE, context("payment.charge", key="i-1:5"))
    again = payment.call("charge", CHARGE, context("payment.charge", key="i-1:5"))
    other = payment.call("charge", CHARGE, context("payment.charge", key="i-2:5"))

    assert first == again == {"charge_id": first["charge_id"], "status": "pending"}
    assert other["charge_id"] != first["charge_id"]
    assert Charge.objects.count() == 2
    assert set(Charge.objects.values_list("card_last4", flat=True)) == {"4242"}  # never the whole number


def test_a_declined_card_is_the_bpmn_error_card_declined(systems: Sandbox) -> None:
    with pytest.raises(ConnectorError) as declined:
        PaymentConnector().call("charge", {**CHARGE, "card_number": "4000000000000002"}, context("payment.charge"))
    assert (declined.value.bpmn_error_code, declined.value.retryable) == ("card_declined", False)
    assert "HTTP 402" in declined.value.message
    assert not Charge.objects.exists()


def test_the_confirmation_webhook_completes_the_waiting_instance(
    systems: Sandbox, start: Callable[..., ProcessInstance]
) -> None:
    instance = start(waits_for("payment_confirmed", "payment_id"), payment_id="PAY-1")

    charged = PaymentConnector().call("charge", CHARGE, context("payment.charge"))

    def completed() -> bool:
        instance.refresh_from_db()
        return instance.status == InstanceStatus.COMPLETED

    wait_until(completed, what="payment_confirmed delivery")
    assert instance.variables["charge_id"] == charged["charge_id"]
    assert instance.variables["status"] == "succeeded"


def test_refunds_up_to_the_charged_amount(systems: Sandbox) -> None:
    systems.knobs("payment", callback_delay=3600.0)
    payment = PaymentConnector()
    charge_id = payment.call("charge", CHARGE, context("payment.charge"))["charge_id"]

    refund = payment.call("refund", {"charge_id": charge_id, "amount": 40}, context("payment.refund", key="r1"))
    assert refund["status"] == "succeeded" and refund["refund_id"].startswith("re_")
    assert payment.call("refund", {"charge_id": charge_id, "amount": 40}, context("payment.refund", key="r1")) == refund

    with pytest.raises(ConnectorError) as too_much:
        payment.call("refund", {"charge_id": charge_id, "amount": 10}, context("payment.refund", key="r2"))
    assert too_much.value.bpmn_error_code == "refund_exceeds_charge"
    with pytest.raises(ConnectorError) as unknown:
        payment.call("refund", {"charge_id": "ch_nope", "amount": 1}, context("payment.refund", key="r3"))
    assert unknown.value.bpmn_error_code == "charge_not_found"


def test_a_gateway_outage_is_retryable(systems: Sandbox) -> None:
    systems.knobs("payment", failure_rate=1.0)
    with pytest.raises(ConnectorError) as down:
        PaymentConnector().call("charge", CHARGE, context("payment.charge"))
    assert down.value.retryable is True
