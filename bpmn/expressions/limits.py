"""Bounds on what one expression or script may cost, and the errors raised when one is hit.

The limits travel in a context variable while code runs so that the curated functions (which keep
builtin-like signatures, see `FUNCTIONS`) can bound their work without an extra parameter.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """CPU and memory bounds for one call of `evaluate` or `execute`.

    Together they keep a hostile model to well under a second of CPU and tens of MB of memory.
    """

    max_steps: int = 100_000  # AST nodes evaluated per call (allocations are charged extra)
    max_iterations: int = 10_000  # per for-loop / comprehension clause
    max_collection_len: int = 100_000  # elements in a list/dict/set/tuple result
    max_string_len: int = 1_000_000  # characters in a str result
    max_int_bits: int = 4096  # guards 10**10**10 style blow-ups
    max_source_len: int = 20_000  # characters of source text
    max_depth: int = 50  # AST nesting depth
    # Approximate JSON size of an expression's result or of a script's data: shared references
    # (`[s] * 100_000`) are cheap in memory but explode when the engine serializes them. A script
    # is refused when the data it leaves is larger, unless it was so before and did not grow
    # (`changes.check_size`).
    max_data_size: int = 10_000_000


DEFAULT_LIMITS = Limits()

# Nesting depth of data values (lists in dicts in lists...). Deeper data cannot be serialized by the
# engine and a self-referencing value is infinitely deep, so this bound also catches cycles.
MAX_DATA_DEPTH = 100

_current: contextvars.ContextVar[Limits] = contextvars.ContextVar("expression_limits", default=DEFAULT_LIMITS)


def current_limits() -> Limits:
    """The limits of the expression running in this context (the defaults outside one)."""
    return _current.get()


def set_current_limits(limits: Limits) -> contextvars.Token[Limits]:
    """Make `limits` current; pass the token to `reset_current_limits` when done."""
    return _current.set(limits)


def reset_current_limits(token: contextvars.Token[Limits]) -> None:
    """Restore the limits that were current before `set_current_limits`."""
    _current.reset(token)


class EvalFailure(Exception):
    """A failure whose message is written for the model's author; the interpreter adds the line."""


class LimitExceeded(EvalFailure):
    """One of the `Limits` was hit."""


_MAX_MESSAGE = 300


def _key_error(exc: BaseException) -> str:
    return f"key {exc.args[0]!r} not found" if exc.args else "key not found"


_FAILURES: tuple[tuple[type[BaseException], Callable[[BaseException], str]], ...] = (
    (EvalFailure, str),
    (ZeroDivisionError, lambda exc: "division by zero"),
    (KeyError, _key_error),
    (IndexError, lambda exc: f"index out of range ({exc})"),
    (RecursionError, lambda exc: "data nested too deeply"),
    (OverflowError, lambda exc: f"number too large ({exc})"),
    (MemoryError, lambda exc: "out of memory"),
    (TypeError, str),
    (ValueError, str),
)


def describe_failure(exc: BaseException) -> str:
    """A Python exception raised while code ran, in the terms of the model's author."""
    message = next((describe(exc) for kind, describe in _FAILURES if isinstance(exc, kind)), None)
    return shorten(message or f"{type(exc).__name__}: {exc}")


def shorten(message: str) -> str:
    """Cut a message that quotes data (a key, a value) to a readable length."""
    return message if len(message) <= _MAX_MESSAGE else message[:_MAX_MESSAGE] + "..."
