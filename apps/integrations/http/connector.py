"""`http.request`: one HTTP request with a JSON body, answered as `{"status", "json", "headers"}`.

Failure policy (docs/operations.md "External systems"):

* connection errors, timeouts, 5xx, 408 and 429 are retryable technical failures;
* any other 4xx is a permanent technical failure (an incident: the request itself is wrong) -
  unless the parameter `bpmn_errors` maps the status to a BPMN error code, e.g.
  `{"404": "customer_not_found"}`, which the model catches with an error boundary event;
* 1xx-3xx are results (redirects are not followed: the model sees them).

The call's idempotency key goes out as the `Idempotency-Key` header, so a remote system that honours
it drops the duplicates at-least-once delivery may cause.

Only allowed hosts are called (`allowlist.py`, `PATCHBAY_HTTP_ALLOWED_HOSTS`): another host is a
permanent failure, so an uploaded model cannot reach internal services.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from apps.integrations.contract import CallContext, Connector, ConnectorError, OperationSpec, RetryPolicy
from apps.integrations.http.allowlist import url_check

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
RETRYABLE_4XX = frozenset({408, 429})
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["url"],
    "additionalProperties": False,
    "properties": {
        "method": {"enum": [*METHODS, *(m.lower() for m in METHODS)]},
        "url": {"type": "string", "pattern": "^https?://[^\\s]+$"},
        "json": {},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "timeout": {"type": "number", "exclusiveMinimum": 0},
        "bpmn_errors": {
            "type": "object",
            "propertyNames": {"pattern": "^[1-5][0-9][0-9]$"},
            "additionalProperties": {"type": "string", "minLength": 1},
        },
    },
}


class HttpConnector(Connector):
    """Calls any HTTP(S) endpoint; the request is described entirely by the parameters."""

    system = "http"
    operations: ClassVar[dict[str, OperationSpec]] = {
        "request": OperationSpec(SCHEMA, timeout=30.0, retry=RetryPolicy(max_attempts=5, base_delay=1.0),
                                 description="`method`, `url`, `json`, `headers`, `timeout`, `bpmn_errors`; "
                                 'result `{"status", "json", "headers"}`.'),
    }

    def call(self, operation: str, parameters: dict[str, Any], context: CallContext) -> Any:
        """Send the request and classify the answer (see the module docstring)."""
        url_check(parameters["url"])
        timeout = min(float(parameters.get("timeout") or context.timeout), context.timeout)
        headers = {**parameters.get("headers", {}), "Idempotency-Key": context.idempotency_key}
        try:
            response = httpx.request(
                str(parameters.get("method", "GET")).upper(),
                parameters["url"],
                json=parameters.get("json"),
                headers=headers,
                timeout=timeout,
                follow_redirects=False,
            )
        except httpx.TimeoutException as exc:
            raise ConnectorError(f"timed out after {timeout:g}s: {type(exc).__name__}", retryable=True) from exc
        except httpx.HTTPError as exc:
            raise ConnectorError(f"request failed: {type(exc).__name__}: {exc}", retryable=True) from exc
        _raise_for_status(response, parameters.get("bpmn_errors") or {})
        return {"status": response.status_code, "json": _json_or_none(response), "headers": dict(response.headers)}


def _raise_for_status(response: httpx.Response, bpmn_errors: dict[str, str]) -> None:
    status = response.status_code
    summary = f"HTTP {status} from {response.request.url}: {response.text[:200]}"
    if str(status) in bpmn_errors:
        raise ConnectorError(summary, retryable=False, bpmn_error_code=bpmn_errors[str(status)])
    if status >= 500 or status in RETRYABLE_4XX:
        raise ConnectorError(summary, retryable=True)
    if status >= 400:
        raise ConnectorError(summary, retryable=False)


def _json_or_none(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None
