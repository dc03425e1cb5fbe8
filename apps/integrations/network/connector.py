"""Network provisioning over REST; completion is asynchronous (message `provisioning_completed`).

* `network.request_provisioning` `{order_id, service, address}` -> `{provisioning_id, status: "accepted"}`;
  then `provisioning_completed` `{order_id, provisioning_id, status: "active"|"failed"}` correlated
  by `order_id` arrives through `/api/v1/messages/`. One provisioning per order: retries are safe.
* `network.cancel_provisioning` `{provisioning_id}` -> `{status: "cancelled"}`
* `network.activate_service` `{order_id, provisioning_id}` -> `{status: "active"}`
BPMN errors: `provisioning_not_found`, `provisioning_failed`, `provisioning_cancelled`.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote

from apps.integrations.contract import CallContext, Connector, OperationSpec, RetryPolicy
from apps.integrations.http.rest import fields, rest_call

_TEXT = {"type": "string", "minLength": 1}
RETRY = RetryPolicy(max_attempts=6, base_delay=2.0, max_delay=120.0)


def _schema(*required: str) -> dict[str, Any]:
    return {"type": "object", "required": list(required), "properties": dict.fromkeys(required, _TEXT)}


class NetworkConnector(Connector):
    """The provisioning system's REST API."""

    system = "network"
    operations: ClassVar[dict[str, OperationSpec]] = {
        "request_provisioning": OperationSpec(
            _schema("order_id", "service", "address"), timeout=15.0, retry=RETRY,
            description="Ask for provisioning; result `{provisioning_id, status: accepted}`; "
            "completion arrives as message `provisioning_completed` (correlation `order_id`).",
        ),
        "cancel_provisioning": OperationSpec(
            _schema("provisioning_id"), timeout=15.0, retry=RETRY,
            description="Cancel a provisioning; result `{status: cancelled}`; BPMN error `provisioning_not_found`.",
        ),
        "activate_service": OperationSpec(
            _schema("order_id", "provisioning_id"), timeout=15.0, retry=RETRY,
            description="Activate the provisioned service; result `{status: active}`; BPMN errors "
            "`provisioning_not_found`, `provisioning_failed`, `provisioning_cancelled`.",
        ),
    }

    def call(self, operation: str, parameters: dict[str, Any], context: CallContext) -> Any:
        """Send the operation's request."""
        if operation == "request_provisioning":
            body = {k: parameters[k] for k in ("order_id", "service", "address")}
            answer = rest_call("network", "POST", "provisioning", context=context, json=body)
            return fields("network", answer, "provisioning_id", "status")
        action = "cancel" if operation == "cancel_provisioning" else "activate"
        path = f"provisioning/{quote(str(parameters['provisioning_id']), safe='')}/{action}"
        answer = rest_call("network", "POST", path, context=context, json={}, business={404, 409})
        return fields("network", answer, "status")
