"""`core.echo` returns its parameters; `core.fail` fails the way its parameters ask (API.md)."""

from __future__ import annotations

from typing import Any, ClassVar

from apps.integrations.contract import CallContext, Connector, ConnectorError, OperationSpec, RetryPolicy

ECHO_SCHEMA: dict[str, Any] = {"type": "object"}
FAIL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "error_code": {"type": "string", "minLength": 1},
        "technical": {"type": "boolean"},
        "message": {"type": "string"},
    },
    "anyOf": [{"required": ["error_code"]}, {"required": ["technical"], "properties": {"technical": {"const": True}}}],
}


class CoreConnector(Connector):
    """No remote system: answers at once, so models and the outbox can be tried without servers."""

    system = "core"
    operations: ClassVar[dict[str, OperationSpec]] = {
        "echo": OperationSpec(ECHO_SCHEMA, timeout=5.0, retry=RetryPolicy(max_attempts=3),
                              description="Returns its parameters as its result."),
        "fail": OperationSpec(FAIL_SCHEMA, timeout=5.0, retry=RetryPolicy(max_attempts=3, base_delay=1.0),
                              description="`error_code`: throws that BPMN error; `technical: true`: fails "
                              "like a broken connection (retried, then an incident)."),
    }

    def call(self, operation: str, parameters: dict[str, Any], context: CallContext) -> Any:
        """Echo the parameters, or fail as `core.fail`'s parameters ask."""
        if operation == "echo":
            return parameters
        message = str(parameters.get("message") or "core.fail was asked to fail")
        if parameters.get("error_code"):
            raise ConnectorError(message, retryable=False, bpmn_error_code=str(parameters["error_code"]))
        raise ConnectorError(f"{message} (simulated broken connection)", retryable=True)
