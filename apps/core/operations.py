"""The names of the operations service tasks may call, for upload validation and the engine.

Upload validation checks every `serviceTaskOperator` of a model against `operation_names()`, so a
typo is reported when the model is deployed, not when an instance reaches the task. The source of
the names is `apps.integrations` (its connector registry, one package per external system): it
registers a *provider* here when it loads, so this module never imports it and the names always
follow the registry. `register_operation` still adds single names (tests, apps without a connector).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable

# `<system>.<operation>` in snake_case, as STYLE.md asks (`billing.create_account`).
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")

# The built-ins of API.md: every deployment has them (declared by apps.integrations' core and http
# packages; listed here so tests and docs can check the contract).
BUILTIN_OPERATIONS = ("core.echo", "core.fail", "http.request")

OperationProvider = Callable[[], Iterable[str]]

_lock = threading.Lock()
_names: set[str] = set()
_providers: list[OperationProvider] = []


def check_operation_name(name: str) -> str:
    """Return `name` if it is dotted snake_case like `billing.create_account`, else raise `ValueError`."""
    if not _NAME_RE.fullmatch(name):
        raise ValueError(f"operation name {name!r} is not dotted snake_case like 'billing.create_account'")
    return name


def register_operation(name: str) -> None:
    """Make `name` a known operation; registering the same name twice is harmless.

    Raises `ValueError` for a name that is not dotted snake_case, so a bad registration fails at
    start-up rather than making every model that uses it undeployable.
    """
    check_operation_name(name)
    with _lock:
        _names.add(name)


def register_operation_provider(provider: OperationProvider) -> None:
    """Add a source of operation names, asked on every `operation_names()` call (idempotent)."""
    with _lock:
        if provider not in _providers:
            _providers.append(provider)


def operation_names() -> frozenset[str]:
    """Every known operation name (a snapshot: later registrations do not change it)."""
    with _lock:
        names = set(_names)
        providers = tuple(_providers)
    for provider in providers:
        names.update(provider())
    return frozenset(names)
