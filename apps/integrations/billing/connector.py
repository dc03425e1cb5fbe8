"""Billing over SOAP (zeep, WSDL from the configured URL).

* `billing.create_account` `{customer_id, order_id, plan}` -> `{account_id, status}`
* `billing.cancel_account` `{account_id}` -> `{account_id, status: "cancelled"}`
* `billing.post_payment` `{account_id, payment_id, amount, currency}` -> `{posting_id}`

The billing system is idempotent by its own keys (one account per customer and order, one posting
per payment id), so retries are safe. BPMN errors: `account_not_found`, `account_cancelled`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from apps.integrations.contract import CallContext, Connector, ConnectorError, OperationSpec, RetryPolicy
from apps.integrations.http.rest import fields
from apps.integrations.http.soap import soap_call

_TEXT = {"type": "string", "minLength": 1}
RETRY = RetryPolicy(max_attempts=6, base_delay=2.0, max_delay=120.0)


def _schema(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": list(properties), "properties": properties}


class BillingConnector(Connector):
    """The billing system's SOAP service."""

    system = "billing"
    operations: ClassVar[dict[str, OperationSpec]] = {
        "create_account": OperationSpec(
            _schema(customer_id=_TEXT, order_id=_TEXT, plan=_TEXT), timeout=20.0, retry=RETRY,
            description="Open the billing account of an order; result `{account_id, status}`.",
        ),
        "cancel_account": OperationSpec(
            _schema(account_id=_TEXT), timeout=20.0, retry=RETRY,
            description="Close an account; result `{account_id, status}`; BPMN error `account_not_found`.",
        ),
        "post_payment": OperationSpec(
            _schema(account_id=_TEXT, payment_id=_TEXT, amount={"type": "number", "exclusiveMinimum": 0},
                    currency={"type": "string", "pattern": "^[A-Za-z]{3}$"}),
            timeout=20.0, retry=RETRY,
            description="Book a payment; result `{posting_id}`; BPMN errors `account_not_found`, `account_cancelled`.",
        ),
    }

    def call(self, operation: str, parameters: dict[str, Any], context: CallContext) -> Any:
        """Map the operation to its SOAP call and the answer back to snake_case."""
        p = parameters
        if operation == "create_account":
            answer = soap_call("billing", "CreateAccount", context=context,
                               customerId=p["customer_id"], orderId=p["order_id"], plan=p["plan"])
            return _account(answer)
        if operation == "cancel_account":
            answer = soap_call("billing", "CancelAccount", context=context, business={"account_not_found"},
                               accountId=p["account_id"])
            return _account(answer)
        answer = soap_call("billing", "PostPayment", context=context,
                           business={"account_not_found", "account_cancelled"},
                           accountId=p["account_id"], paymentId=p["payment_id"],
                           amount=Decimal(str(p["amount"])), currency=p["currency"].upper())
        # zeep unwraps a response of one element to its bare value (`soap_call` puts it under "value").
        posting_id = answer.get("postingId", answer.get("value"))
        if not posting_id:
            raise ConnectorError(f"billing.post_payment: the answer lacks postingId: {answer!r:.200}", retryable=False)
        return {"posting_id": posting_id}


def _account(answer: dict[str, Any]) -> dict[str, Any]:
    found = fields("billing", answer, "accountId", "status")
    return {"account_id": found["accountId"], "status": found["status"]}
