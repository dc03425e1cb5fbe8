"""Simulated billing system (SOAP 1.1, WSDL at `GET /sandbox/billing/?wsdl`).

Operations (namespace `urn:patchbay:sandbox:billing`):
* `CreateAccount(customerId, orderId, plan)` -> `(accountId, status)`; one account per
  (customer, order): a repeated call returns the same account.
* `CancelAccount(accountId)` -> `(accountId, status="cancelled")`; idempotent.
* `PostPayment(accountId, paymentId, amount, currency)` -> `(postingId)`; one posting per payment.
Business errors are Client faults with `<errorCode>` `account_not_found` or `account_cancelled`;
outages (the `failure_rate` knob) are Server faults.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from lxml import etree

from apps.sandbox import soap
from apps.sandbox.models import BillingAccount, Posting, new_id
from apps.sandbox.web import soap_system

NS = "urn:patchbay:sandbox:billing"


def _client_fault(error_code: str, message: str) -> HttpResponse:
    return soap.fault("Client", message, namespace=NS, error_code=error_code)


@soap_system("billing", NS, "billing.wsdl")
def endpoint(request: HttpRequest, knobs: dict[str, Any], operation: etree._Element) -> HttpResponse:
    """Dispatch the SOAP operation by the name of its wrapper element."""
    handler = OPERATIONS.get(soap.local_name(operation))
    if handler is None:
        return _client_fault("unknown_operation", f"unknown operation {soap.local_name(operation)}")
    return handler(operation)


def create_account(operation: etree._Element) -> HttpResponse:
    """Open an account for the customer's order (or return the one already opened)."""
    customer_id = soap.child_text(operation, "customerId")
    order_id = soap.child_text(operation, "orderId")
    plan = soap.child_text(operation, "plan")
    try:
        with transaction.atomic():
            account, _ = BillingAccount.objects.get_or_create(
                customer_id=customer_id, order_id=order_id,
                defaults={"account_id": new_id("acct"), "plan": plan, "status": "active"},
            )
    except IntegrityError:  # the same order, concurrently
        account = BillingAccount.objects.get(customer_id=customer_id, order_id=order_id)
    return soap.respond(NS, "CreateAccountResponse", {"accountId": account.account_id, "status": account.status})


def cancel_account(operation: etree._Element) -> HttpResponse:
    """Close an account."""
    account_id = soap.child_text(operation, "accountId")
    updated = BillingAccount.objects.filter(account_id=account_id).update(status="cancelled")
    if not updated:
        return _client_fault("account_not_found", f"no account {account_id}")
    return soap.respond(NS, "CancelAccountResponse", {"accountId": account_id, "status": "cancelled"})


def post_payment(operation: etree._Element) -> HttpResponse:
    """Book a payment on an active account, once per payment id."""
    account_id = soap.child_text(operation, "accountId")
    payment_id = soap.child_text(operation, "paymentId")
    try:
        amount = Decimal(soap.child_text(operation, "amount"))
    except InvalidOperation as exc:
        raise soap.SoapRequestError("amount must be a decimal") from exc
    account = BillingAccount.objects.filter(account_id=account_id).first()
    if account is None:
        return _client_fault("account_not_found", f"no account {account_id}")
    known = Posting.objects.filter(payment_id=payment_id).first()
    if known is None and account.status == "cancelled":
        return _client_fault("account_cancelled", f"account {account_id} is cancelled")
    if known is None:
        try:
            with transaction.atomic():
                known = Posting.objects.create(
                    posting_id=new_id("post"), account=account, payment_id=payment_id,
                    amount=amount, currency=soap.child_text(operation, "currency").upper()[:3],
                )
        except IntegrityError:
            known = Posting.objects.get(payment_id=payment_id)
    return soap.respond(NS, "PostPaymentResponse", {"postingId": known.posting_id})


OPERATIONS = {"CreateAccount": create_account, "CancelAccount": cancel_account, "PostPayment": post_payment}
