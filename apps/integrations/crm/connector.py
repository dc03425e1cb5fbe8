"""`crm.upsert_customer` `{customer_id, name, email, segment}` -> `{customer_id, crm_id, created}`.

`PUT <crm>/customers/<customer_id>`: creating or updating by the caller's id is naturally idempotent.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote

from apps.integrations.contract import CallContext, Connector, OperationSpec, RetryPolicy
from apps.integrations.http.rest import fields, rest_call

_TEXT = {"type": "string", "minLength": 1}
UPSERT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["customer_id", "name", "email"],
    "properties": {"customer_id": _TEXT, "name": _TEXT, "email": _TEXT,
                   "segment": {"type": "string"}},
}


class CrmConnector(Connector):
    """The CRM's REST API (the simulated one at `/sandbox/crm/` unless `PATCHBAY_CRM_URL` says otherwise)."""

    system = "crm"
    operations: ClassVar[dict[str, OperationSpec]] = {
        "upsert_customer": OperationSpec(
            UPSERT_SCHEMA, timeout=10.0, retry=RetryPolicy(max_attempts=5, base_delay=2.0),
            description="Create or update the customer; result `{customer_id, crm_id, created}`.",
        ),
    }

    def call(self, operation: str, parameters: dict[str, Any], context: CallContext) -> Any:
        """Upsert the customer."""
        body = {"name": parameters["name"], "email": parameters["email"],
                "segment": parameters.get("segment") or "consumer"}
        answer = rest_call("crm", "PUT", f"customers/{quote(str(parameters['customer_id']), safe='')}",
                           context=context, json=body)
        return fields("crm", answer, "customer_id", "crm_id", "created")
