"""The registry of operation names that service tasks may call.

Only *names* live here: upload validation checks every `serviceTaskOperator` of a model against
`operation_names()`, so a typo is reported when the model is deployed, not when an instance reaches
the task. Running an operation (connectors, retries, idempotency) belongs to `apps.integrations` and
is a later issue; it registers its operations here as it loads.
"""

from __future__ import annotations

import re
import threading

# `<system>.<operation>` in snake_case, as STYLE.md asks (`billing.create_account`).
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")

# The built-ins of API.md: every deployment has them, for trying models and for tests.
BUILTIN_OPERATIONS = ("core.echo", "core.fail", "http.request")

_lock = threading.Lock()
_names: set[str] = set()


def register_operation(name: str) -> None:
    """Make `name` a known operation; registering the same name twice is harmless.

    Raises `ValueError` for a name that is not dotted snake_case, so a bad registration fails at
    start-up rather than making every model that uses it undeployable.
    """
    if not _NAME_RE.fullmatch(name):
        raise ValueError(f"operation name {name!r} is not dotted snake_case like 'billing.create_account'")
    with _lock:
        _names.add(name)


def operation_names() -> frozenset[str]:
    """Every registered operation name (a snapshot: later registrations do not change it)."""
    with _lock:
        return frozenset(_names)


for _builtin in BUILTIN_OPERATIONS:
    register_operation(_builtin)
