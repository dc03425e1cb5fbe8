"""The simulated systems' own endpoints (Django test client): knobs, outages, idempotency, WSDL, routing."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client
from lxml import etree

from apps.sandbox.knobs import knobs_get

pytestmark = pytest.mark.django_db
CHARGE = {"payment_id": "P-1", "customer_id": "C-1", "amount": 10, "currency": "EUR", "card_number": "4242424242424242"}


@pytest.fixture(autouse=True)
def _no_callbacks(settings: Any) -> None:
    # Webhooks are covered by the connector tests; here they would only wait in the background.
    settings.PATCHBAY_SANDBOX_DEFAULTS = {name: {"callback_delay": 3600.0} for name in ("network", "payment")}


def post(client: Client, url: str, body: Any, **headers: str) -> Any:
    return client.post(url, body, content_type="application/json", headers=headers)


def test_config_reads_changes_validates_and_resets(client: Client) -> None:
    assert client.get("/sandbox/payment/config").json()["decline_suffix"] == "0002"

    changed = post(client, "/sandbox/payment/config", {"latency_ms": 20, "decline_suffix": "9999"})
    assert changed.status_code == 200
    assert (changed.json()["latency_ms"], knobs_get("payment")["decline_suffix"]) == (20, "9999")
    for bad in ({"failure_rate": 2}, {"nonsense": 1}, {"latency_ms": "slow"}):
        answer = post(client, "/sandbox/payment/config", bad)
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_config"
    assert post(client, "/sandbox/payment/config", {"reset": True}).json()["latency_ms"] == 0
    assert client.get("/sandbox/nope/config").status_code == 404


def test_a_full_failure_rate_answers_503_and_latency_delays(client: Client) -> None:
    post(client, "/sandbox/crm/config", {"failure_rate": 1.0})
    down = client.put("/sandbox/crm/customers/C-1", {"name": "A", "email": "a@x"}, content_type="application/json")
    assert (down.status_code, down.json()["error"]) == (503, "unavailable")

    post(client, "/sandbox/credit/config", {"latency_ms": 200})
    started = time.monotonic()
    assert client.get("/sandbox/credit/scores/C-1").status_code == 200
    assert time.monotonic() - started >= 0.2


def test_charges_honour_the_idempotency_key_and_the_decline_rule(client: Client) -> None:
    assert post(client, "/sandbox/payment/charges", CHARGE).status_code == 400  # no key
    first = post(client, "/sandbox/payment/charges", CHARGE, **{"Idempotency-Key": "k1"})
    again = post(client, "/sandbox/payment/charges", CHARGE, **{"Idempotency-Key": "k1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    reused = post(client, "/sandbox/payment/charges", {**CHARGE, "payment_id": "P-2"}, **{"Idempotency-Key": "k1"})
    assert reused.json()["error"] == "idempotency_key_reused"

    declined = post(client, "/sandbox/payment/charges", {**CHARGE, "card_number": "4000000000000002"},
                    **{"Idempotency-Key": "k2"})
    assert (declined.status_code, declined.json()["error"]) == (402, "card_declined")


def test_the_wsdl_points_back_at_the_endpoint_and_a_fault_is_soap(client: Client) -> None:
    wsdl = client.get("/sandbox/billing/?wsdl")
    assert wsdl.status_code == 200 and wsdl["Content-Type"].startswith("text/xml")
    address = etree.fromstring(wsdl.content).find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
    assert address is not None and address.get("location") == "http://testserver/sandbox/billing/"

    post(client, "/sandbox/billing/config", {"failure_rate": 1.0})
    fault = client.post("/sandbox/billing/", b"<x/>", content_type="text/xml")
    assert fault.status_code == 503 and b"soap:Server" in fault.content


def test_a_hostile_envelope_is_a_client_fault(client: Client) -> None:
    evil = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    fault = client.post("/sandbox/regulator/", evil, content_type="text/xml")
    assert fault.status_code == 500 and b"soap:Client" in fault.content and b"root:" not in fault.content


@pytest.mark.urls("apps.sandbox.standalone_urls")
def test_the_standalone_urlconf_serves_only_the_sandbox(client: Client) -> None:
    assert client.get("/sandbox/").json()["systems"]["crm"]["url"] == "http://testserver/sandbox/crm/"
    assert client.get("/sandbox/credit/scores/C-1").status_code == 200
    for other in ("/api/v1/messages/", "/healthz", "/admin/", "/"):
        assert client.get(other).status_code == 404
