"""`notify.send` `{channel: "email"|"sms", to, template, data}` -> `{notification_id}`.

The idempotency key goes out as `Idempotency-Key`, so a retried send is not sent twice.
"""

from __future__ import annotations

from typing import Any, ClassVar

from apps.integrations.contract import CallContext, Connector, OperationSpec, RetryPolicy
from apps.integrations.http.rest import fields, rest_call

SEND_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["channel", "to", "template"],
    "properties": {
        "channel": {"enum": ["email", "sms"]},
        "to": {"type": "string", "minLength": 1},
        "template": {"type": "string", "minLength": 1},
        "data": {"type": "object"},
    },
}


class NotifyConnector(Connector):
    """The notification service's REST API."""

    system = "notify"
    operations: ClassVar[dict[str, OperationSpec]] = {
        "send": OperationSpec(
            SEND_SCHEMA, timeout=10.0, retry=RetryPolicy(max_attempts=5, base_delay=2.0),
            description="Send an e-mail or SMS from a template; result `{notification_id}`.",
        ),
    }

    def call(self, operation: str, parameters: dict[str, Any], context: CallContext) -> Any:
        """Hand the notification over."""
        body = {k: parameters[k] for k in ("channel", "to", "template")}
        body["data"] = parameters.get("data") or {}
        answer = rest_call("notify", "POST", "notifications", context=context, json=body)
        return fields("notify", answer, "notification_id")
