"""`crm.upsert_customer` and `credit.get_score` against the sandbox over real HTTP."""

from __future__ import annotations

import time

import pytest

from apps.integrations.contract import ConnectorError
from apps.integrations.credit.connector import CreditConnector
from apps.integrations.crm.connector import CrmConnector
from apps.sandbox.models import Customer
from tests.apps.sandbox import kit
from tests.apps.sandbox.kit import Sandbox, context

pytestmark = pytest.mark.django_db(transaction=True)
systems = kit.systems  # the fixture: the sandbox on the live server
ALICE = {"customer_id": "C-100", "name": "Alice", "email": "alice@example.com", "segment": "consumer"}


def test_upsert_creates_then_updates_the_same_customer(systems: Sandbox) -> None:
    crm = CrmConnector()

    first = crm.call("upsert_customer", ALICE, context("crm.upsert_customer"))
    second = crm.call("upsert_customer", {**ALICE, "segment": "business"}, context("crm.upsert_customer"))

    assert first["created"] is True and second["created"] is False
    assert first["customer_id"] == second["customer_id"] == "C-100"
    assert first["crm_id"] == second["crm_id"] and first["crm_id"].startswith("crm_")
    assert Customer.objects.get(customer_id="C-100").segment == "business"


def test_a_rejected_request_is_permanent_and_an_outage_is_retryable(systems: Sandbox) -> None:
    crm = CrmConnector()
    with pytest.raises(ConnectorError) as bad:
        crm.call("upsert_customer", {**ALICE, "email": "nope"}, context("crm.upsert_customer"))
    assert (bad.value.retryable, bad.value.bpmn_error_code) == (False, None)
    assert "HTTP 422" in bad.value.message

    systems.knobs("crm", failure_rate=1.0)
    with pytest.raises(ConnectorError) as down:
        crm.call("upsert_customer", ALICE, context("crm.upsert_customer"))
    assert down.value.retryable is True and "HTTP 503" in down.value.message


def test_latency_is_honoured_and_a_timeout_is_retryable(systems: Sandbox) -> None:
    crm = CrmConnector()
    systems.knobs("crm", latency_ms=300)
    started = time.monotonic()
    crm.call("upsert_customer", ALICE, context("crm.upsert_customer"))
    assert time.monotonic() - started >= 0.3

    with pytest.raises(ConnectorError) as slow:
        crm.call("upsert_customer", ALICE, context("crm.upsert_customer", timeout=0.1))
    assert slow.value.retryable is True and "timed out" in slow.value.message


def test_credit_score_is_deterministic_in_range_and_configurable(systems: Sandbox) -> None:
    credit = CreditConnector()
    params = {"customer_id": "C-100", "amount": 499.0}

    first = credit.call("get_score", params, context("credit.get_score"))
    again = credit.call("get_score", params, context("credit.get_score"))

    assert first == again
    assert set(first) == {"customer_id", "score", "band"}
    assert 300 <= first["score"] <= 850
    systems.knobs("credit", score_overrides={"C-100": 512})
    assert credit.call("get_score", params, context("credit.get_score")) == {
        "customer_id": "C-100", "score": 512, "band": "poor"}
