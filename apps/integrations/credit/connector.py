"""`credit.get_score` `{customer_id, amount}` -> `{customer_id, score (300..850), band}`."""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote

from apps.integrations.contract import CallContext, Connector, OperationSpec, RetryPolicy
from apps.integrations.http.rest import fields, rest_call

SCORE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["customer_id"],
    "properties": {"customer_id": {"type": "string", "minLength": 1}, "amount": {"type": "number", "minimum": 0}},
}


class CreditConnector(Connector):
    """The credit bureau's REST API; a read, so retrying it is always safe."""

    system = "credit"
    operations: ClassVar[dict[str, OperationSpec]] = {
        "get_score": OperationSpec(
            SCORE_SCHEMA, timeout=10.0, retry=RetryPolicy(max_attempts=5, base_delay=1.0),
            description="The customer's credit score; result `{customer_id, score, band}`.",
        ),
    }

    def call(self, operation: str, parameters: dict[str, Any], context: CallContext) -> Any:
        """Ask for the score."""
        answer = rest_call("credit", "GET", f"scores/{quote(str(parameters['customer_id']), safe='')}",
                           context=context, params={"amount": parameters.get("amount", 0)})
        return fields("credit", answer, "customer_id", "score", "band")
