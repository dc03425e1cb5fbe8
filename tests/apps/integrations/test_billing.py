"""`billing.*` through zeep against the sandbox's SOAP service, with the WSDL fetched from it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from apps.instances.models import ProcessInstance
from apps.integrations.billing.connector import BillingConnector
from apps.integrations.contract import ConnectorError
from apps.integrations.http import soap
from apps.sandbox.models import BillingAccount, Posting
from tests.apps.integrations import samples
from tests.apps.integrations.conftest import only_call, run
from tests.apps.sandbox import kit
from tests.apps.sandbox.kit import Sandbox, context

pytestmark = pytest.mark.django_db(transaction=True)
systems = kit.systems  # the fixture: the sandbox on the live server
ORDER = {"customer_id": "C-1", "order_id": "O-1", "plan": "fibre_100"}


def test_create_account_is_idempotent_per_order_and_the_client_is_cached(systems: Sandbox) -> None:
    billing = BillingConnector()

    first = billing.call("create_account", ORDER, context("billing.create_account"))
    again = billing.call("create_account", ORDER, context("billing.create_account"))

    assert first == again == {"account_id": first["account_id"], "status": "active"}
    assert BillingAccount.objects.count() == 1
    assert len(soap._clients) == 1  # one WSDL fetch per process and timeout


def test_post_payment_then_cancel_and_business_faults_become_bpmn_errors(systems: Sandbox) -> None:
    billing = BillingConnector()
    account = billing.call("create_account", ORDER, context("billing.create_account"))["account_id"]
    payment = {"account_id": account, "payment_id": "P-1", "amount": 29.9, "currency": "eur"}

    posting = billing.call("post_payment", payment, context("billing.post_payment"))
    assert billing.call("post_payment", payment, context("billing.post_payment")) == posting
    assert str(Posting.objects.get().amount) == "29.90"
    assert billing.call("cancel_account", {"account_id": account}, context("billing.cancel_account")) == {
        "account_id": account, "status": "cancelled"}

    with pytest.raises(ConnectorError) as cancelled:
        billing.call("post_payment", {**payment, "payment_id": "P-2"}, context("billing.post_payment"))
    assert cancelled.value.bpmn_error_code == "account_cancelled"
    with pytest.raises(ConnectorError) as missing:
        billing.call("cancel_account", {"account_id": "acct_nope"}, context("billing.cancel_account"))
    assert (missing.value.bpmn_error_code, missing.value.retryable) == ("account_not_found", False)


def test_billing_down_is_a_retryable_server_fault(systems: Sandbox) -> None:
    billing = BillingConnector()
    billing.call("create_account", ORDER, context("billing.create_account"))  # WSDL fetched while up
    systems.knobs("billing", failure_rate=1.0)

    with pytest.raises(ConnectorError) as down:
        billing.call("create_account", ORDER, context("billing.create_account"))

    assert down.value.retryable is True and "Server" in down.value.message


def test_an_unreachable_wsdl_is_retryable(systems: Sandbox, settings: pytest.FixtureRequest) -> None:
    settings.PATCHBAY_SYSTEM_URLS = {**settings.PATCHBAY_SYSTEM_URLS, "billing": "http://127.0.0.1:9/billing/"}
    with pytest.raises(ConnectorError) as unreachable:
        BillingConnector().call("create_account", ORDER, context("billing.create_account"))
    assert unreachable.value.retryable is True and "WSDL" in unreachable.value.message


def test_a_service_task_calls_billing_through_the_outbox(
    systems: Sandbox, start: Callable[..., ProcessInstance]
) -> None:
    model = samples.one_call("open_account", "billing.create_account",
                             {"customer_id": "customer_id", "order_id": "order_id", "plan": "'fibre_500'"}, "account")
    instance = start(model, customer_id="C-9", order_id="O-9")

    assert run(only_call(instance)) == "result"

    instance.refresh_from_db()
    assert instance.variables["account"]["status"] == "active"
    assert BillingAccount.objects.get(order_id="O-9").account_id == instance.variables["account"]["account_id"]
