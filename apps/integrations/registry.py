"""The registry of operations named `<system>.<operation>`, built from the registered connectors.

It is the source of the operation names upload validation accepts (`apps.core.operations` asks it
through a provider) and of everything a worker needs to run a call: the connector, the parameter
schema, the timeout, the retry policy and the system's queue. Parameters are validated here, before
the call: a bad parameter set is a permanent failure with a message naming the parameter.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Any

import jsonschema
from django.conf import settings

from apps.core.operations import check_operation_name
from apps.integrations.contract import Connector, ConnectorError, OperationSpec, RetryPolicy


@dataclass(frozen=True)
class Operation:
    """A registered operation: its full name, the system it belongs to and how to run it."""

    name: str
    system: str
    short_name: str
    spec: OperationSpec
    connector: Connector

    @property
    def queue(self) -> str:
        """The Celery queue of the operation's system."""
        return self.connector.queue

    @property
    def timeout(self) -> float:
        """Seconds the connector gets before the call counts as timed out (`PATCHBAY_OPERATION_TIMEOUTS`
        overrides it by operation or system name)."""
        overrides: dict[str, float] = settings.PATCHBAY_OPERATION_TIMEOUTS
        seconds = overrides.get(self.name, overrides.get(self.system))
        return float(seconds) if seconds is not None else self.spec.timeout

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy, with the deployment's overrides (`PATCHBAY_RETRY_POLICIES`) applied."""
        overrides: dict[str, dict[str, Any]] = settings.PATCHBAY_RETRY_POLICIES
        merged = {**overrides.get(self.system, {}), **overrides.get(self.name, {})}
        return replace(self.spec.retry, **merged) if merged else self.spec.retry


_lock = threading.Lock()
_connectors: dict[str, Connector] = {}
_operations: dict[str, Operation] = {}


def register_connector(connector: Connector) -> Connector:
    """Register a connector and its operations; a second connector for the same system replaces it.

    Raises `ValueError` for an operation name that is not dotted snake_case and
    `jsonschema.SchemaError` for a broken parameter schema, so mistakes stop the process at start-up.
    """
    found = {}
    for short, spec in connector.operations.items():
        name = check_operation_name(f"{connector.system}.{short}")
        jsonschema.Draft202012Validator.check_schema(spec.schema)
        found[name] = Operation(name=name, system=connector.system, short_name=short, spec=spec, connector=connector)
    with _lock:
        unregister_locked(connector.system)
        _connectors[connector.system] = connector
        _operations.update(found)
    return connector


def unregister_locked(system: str) -> None:
    """Drop a system's connector and operations (caller holds the registry lock)."""
    _connectors.pop(system, None)
    for name in [n for n, op in _operations.items() if op.system == system]:
        del _operations[name]


def unregister_connector(system: str) -> None:
    """Drop a system's connector and its operations (tests register their own connectors)."""
    with _lock:
        unregister_locked(system)


def operation_names() -> frozenset[str]:
    """Every registered operation name."""
    with _lock:
        return frozenset(_operations)


def operation_get(name: str) -> Operation | None:
    """The registered operation called `name`, or None."""
    with _lock:
        return _operations.get(name)


def connectors() -> dict[str, Connector]:
    """The registered connectors by system name."""
    with _lock:
        return dict(_connectors)


def system_of(operation: str) -> str:
    """The system part of an operation name (`billing` of `billing.create_account`)."""
    return operation.split(".", 1)[0]


def parameters_validate(operation: Operation, parameters: Any) -> dict[str, Any]:
    """Check `parameters` against the operation's schema; raise a permanent `ConnectorError` if wrong.

    The message lists every problem with the parameter's path, e.g. `url: 'ftp://x' does not match`.
    """
    if not isinstance(parameters, dict):
        raise ConnectorError(f"{operation.name}: parameters must be an object", retryable=False)
    validator = jsonschema.Draft202012Validator(operation.spec.schema)
    problems = sorted(validator.iter_errors(parameters), key=lambda e: list(e.absolute_path))
    if problems:
        listed = "; ".join(f"{_path(p.absolute_path)}: {p.message}" for p in problems)
        raise ConnectorError(f"invalid parameters for {operation.name}: {listed}", retryable=False)
    return parameters


def _path(parts: Any) -> str:
    return ".".join(str(part) for part in parts) or "(parameters)"
