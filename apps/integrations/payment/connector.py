"""The payment gateway over REST.

* `payment.charge` `{payment_id, customer_id, amount, currency, card_number}` -> `{charge_id,
  status: "pending"}`; the call's idempotency key is the gateway's `Idempotency-Key`, so a retry or
  redelivery returns the same charge instead of charging twice. Confirmation comes later as the
  message `payment_confirmed` `{payment_id, charge_id, status: "succeeded"}` correlated by
  `payment_id`. A declined card -> BPMN error `card_declined`.
* `payment.refund` `{charge_id, amount}` -> `{refund_id, status}`; BPMN errors `charge_not_found`,
  `refund_exceeds_charge`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from apps.integrations.contract import CallContext, Connector, OperationSpec, RetryPolicy
from apps.integrations.http.rest import fields, rest_call

_TEXT = {"type": "string", "minLength": 1}
_AMOUNT = {"type": "number", "exclusiveMinimum": 0}
CHARGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["payment_id", "customer_id", "amount", "currency", "card_number"],
    "properties": {"payment_id": _TEXT, "customer_id": _TEXT, "amount": _AMOUNT,
                   "currency": {"type": "string", "pattern": "^[A-Za-z]{3}$"},
                   "card_number": {"type": "string", "pattern": "^[0-9 -]{12,23}$"}},
}
REFUND_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["charge_id", "amount"],
    "properties": {"charge_id": _TEXT, "amount": _AMOUNT},
}
RETRY = RetryPolicy(max_attempts=6, base_delay=2.0, max_delay=120.0)


class PaymentConnector(Connector):
    """The payment gateway's REST API."""

    system = "payment"
    operations: ClassVar[dict[str, OperationSpec]] = {
        "charge": OperationSpec(
            CHARGE_SCHEMA, timeout=15.0, retry=RETRY,
            description="Charge a card; result `{charge_id, status: pending}`; confirmation arrives as "
            "message `payment_confirmed` (correlation `payment_id`); BPMN error `card_declined`.",
        ),
        "refund": OperationSpec(
            REFUND_SCHEMA, timeout=15.0, retry=RETRY,
            description="Refund (part of) a charge; result `{refund_id, status}`; BPMN errors "
            "`charge_not_found`, `refund_exceeds_charge`.",
        ),
    }

    def call(self, operation: str, parameters: dict[str, Any], context: CallContext) -> Any:
        """Charge or refund; the Idempotency-Key is added by `rest_call`."""
        if operation == "charge":
            body = {k: parameters[k] for k in ("payment_id", "customer_id", "amount", "card_number")}
            body["currency"] = parameters["currency"].upper()
            answer = rest_call("payment", "POST", "charges", context=context, json=body, business={402})
            return fields("payment", answer, "charge_id", "status")
        body = {"charge_id": parameters["charge_id"], "amount": parameters["amount"]}
        answer = rest_call("payment", "POST", "refunds", context=context, json=body, business={404, 422})
        return fields("payment", answer, "refund_id", "status")
