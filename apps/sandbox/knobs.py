"""The knobs of each simulated system: latency, failure rate and a few system-specific rules.

Effective values = built-in defaults, overridden by `PATCHBAY_SANDBOX_DEFAULTS` (settings), overridden
by what `POST /sandbox/<system>/config` stored. Only known knobs of the default's type are accepted,
so a typo in a demo script fails loudly instead of being ignored.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from apps.sandbox.models import SystemKnobs

COMMON: dict[str, Any] = {"latency_ms": 0, "failure_rate": 0.0}
DEFAULTS: dict[str, dict[str, Any]] = {
    "crm": {},
    "credit": {"score_offset": 0, "score_overrides": {}},
    "billing": {},
    # `failed_rate`: share of provisionings whose asynchronous answer is `failed` (a business outcome).
    "network": {"callback_delay": 2.0, "failed_rate": 0.0},
    "notify": {},
    # Cards whose number ends with `decline_suffix` are declined (HTTP 402 card_declined).
    "payment": {"callback_delay": 1.0, "decline_suffix": "0002"},
    # `rejection_rate`: share of submissions acknowledged as rejected.
    "regulator": {"callback_delay": 3.0, "rejection_rate": 0.0},
}
SYSTEMS = tuple(DEFAULTS)


class KnobError(ValueError):
    """A knob that does not exist, or a value of the wrong type or range."""


def defaults(system: str) -> dict[str, Any]:
    """Built-in defaults merged with the deployment's `PATCHBAY_SANDBOX_DEFAULTS` for `system`."""
    configured: dict[str, Any] = settings.PATCHBAY_SANDBOX_DEFAULTS.get(system, {})
    return {**COMMON, **DEFAULTS[system], **configured}


def knobs_get(system: str) -> dict[str, Any]:
    """The effective knobs of `system` (one query)."""
    row = SystemKnobs.objects.filter(system=system).first()
    return {**defaults(system), **(row.values if row else {})}


def knobs_update(system: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Validate and store `changes` (merged with earlier changes); return the effective knobs."""
    base = defaults(system)
    cleaned = {name: _clean(name, value, base) for name, value in changes.items()}
    row, _ = SystemKnobs.objects.get_or_create(system=system)
    row.values = {**row.values, **cleaned}
    row.save(update_fields=["values", "updated_at"])
    return {**base, **row.values}


def knobs_reset(system: str | None = None) -> None:
    """Forget run-time changes of `system` (all systems when None): back to the defaults."""
    rows = SystemKnobs.objects.all()
    if system is not None:
        rows = rows.filter(system=system)
    rows.delete()


def _clean(name: str, value: Any, base: dict[str, Any]) -> Any:
    if name not in base:
        raise KnobError(f"unknown knob {name!r}; known: {', '.join(sorted(base))}")
    expected = base[name]
    if isinstance(expected, float | int) and not isinstance(expected, bool):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise KnobError(f"{name} must be a number")
        if value < 0 or (name.endswith("_rate") and value > 1):
            raise KnobError(f"{name} must be {'between 0 and 1' if name.endswith('_rate') else '>= 0'}")
        return float(value) if isinstance(expected, float) else int(value)
    if not isinstance(value, type(expected)):
        raise KnobError(f"{name} must be of type {type(expected).__name__}")
    return value
