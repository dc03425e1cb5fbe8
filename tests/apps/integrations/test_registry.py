"""The operation registry: names, connectors, parameter schemas; upload validation uses it."""

from __future__ import annotations

from typing import Any, ClassVar

import jsonschema
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from apps.core import operations
from apps.integrations import registry
from apps.integrations.contract import CallContext, Connector, ConnectorError, OperationSpec
from apps.integrations.core.connector import CoreConnector
from tests.apps.integrations import samples
from tests.apps.integrations.conftest import Testkit

CONTEXT = CallContext("core.echo", "k", timeout=1, attempt=1, instance_id="i", activity_id="a")


def test_the_builtin_operations_come_from_the_registry() -> None:
    assert set(operations.BUILTIN_OPERATIONS) <= registry.operation_names()
    assert registry.operation_names() <= operations.operation_names()
    echo = registry.operation_get("core.echo")
    assert echo is not None and (echo.system, echo.queue, echo.short_name) == ("core", "core", "echo")
    assert registry.operation_get("billing.nope") is None


def test_a_registered_connector_adds_its_operations_and_unregistering_removes_them() -> None:
    registry.register_connector(Testkit())
    try:
        assert "testkit.ping" in operations.operation_names()
    finally:
        registry.unregister_connector("testkit")
    assert "testkit.ping" not in operations.operation_names()


def test_a_connector_with_a_broken_schema_or_name_is_refused() -> None:
    class Broken(Connector):
        system = "broken"
        operations: ClassVar[dict[str, OperationSpec]] = {"x": OperationSpec({"type": "nonsense"})}

        def call(self, operation: str, parameters: dict[str, Any], context: CallContext) -> Any:
            return None

    class BadName(Broken):
        system = "Bad-Name"
        operations: ClassVar[dict[str, OperationSpec]] = {"x": OperationSpec({"type": "object"})}

    with pytest.raises(jsonschema.SchemaError):
        registry.register_connector(Broken())
    with pytest.raises(ValueError, match="dotted snake_case"):
        registry.register_connector(BadName())
    assert not {"broken.x", "Bad-Name.x"} & registry.operation_names()


@pytest.mark.parametrize(
    ("operation", "parameters", "message"),
    [
        ("core.fail", {}, "invalid parameters for core.fail: (parameters): {} is not valid under any"),
        ("core.fail", {"error_code": 5}, "error_code: 5 is not of type 'string'"),
        ("http.request", {"url": "http://x", "method": "BREW"}, "method: 'BREW' is not one of"),
        ("http.request", {"method": "GET"}, "'url' is a required property"),
        ("http.request", {"url": "http://x", "headers": {"a": 1}}, "headers.a: 1 is not of type 'string'"),
        ("http.request", {"url": "http://x", "bpmn_errors": {"abc": "x"}}, "bpmn_errors: 'abc' does not match"),
        ("http.request", {"url": "http://x", "verb": "GET"}, "Additional properties are not allowed ('verb'"),
    ],
)
def test_bad_parameters_are_a_permanent_failure_naming_the_parameter(
    operation: str, parameters: dict[str, Any], message: str
) -> None:
    op = registry.operation_get(operation)
    assert op is not None

    with pytest.raises(ConnectorError) as err:
        registry.parameters_validate(op, parameters)

    assert err.value.retryable is False and err.value.bpmn_error_code is None
    assert message in err.value.message


def test_core_echo_returns_its_parameters_and_core_fail_fails_as_asked() -> None:
    core = CoreConnector()

    assert core.call("echo", {"a": [1, 2]}, CONTEXT) == {"a": [1, 2]}
    with pytest.raises(ConnectorError) as business:
        core.call("fail", {"error_code": "card_declined"}, CONTEXT)
    with pytest.raises(ConnectorError) as technical:
        core.call("fail", {"technical": True}, CONTEXT)

    assert (business.value.bpmn_error_code, business.value.retryable) == ("card_declined", False)
    assert (technical.value.bpmn_error_code, technical.value.retryable) == (None, True)


def test_uploading_a_model_with_an_unknown_operation_is_a_400_naming_it(
    clients: dict[str, APIClient],
) -> None:
    content = samples.one_call("ledger_flow", "ledger.create_account", {"name": "'x'"})
    upload = SimpleUploadedFile("ledger.bpmn", content, content_type="application/xml")

    response = clients["analyst"].post("/api/v1/definitions/", {"file": upload}, format="multipart")

    assert response.status_code == 400
    problems = response.json()["error"]["details"]
    assert {"code": "unknown_operation", "element_id": "call"}.items() <= next(
        p for p in problems if p["code"] == "unknown_operation"
    ).items()
    assert "ledger.create_account" in problems[0]["message"]
