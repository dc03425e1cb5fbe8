"""The curated functions a model may call (`FUNCTIONS`).

They keep the signatures of the builtins they stand for, minus what is unsafe: no `key=` (no
function values exist in the language), and every iterable is materialized under the collection
limit first, so `sum(range(10**12))` is refused instead of looping in C.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

from bpmn.errors import ExpressionError
from bpmn.expressions import dates
from bpmn.expressions.limits import EvalFailure, current_limits
from bpmn.expressions.values import check_collection_len, check_data_size, materialize

_MISSING: Any = object()


def _len(value: Any) -> int:
    return len(value)


def _min(*args: Any, default: Any = _MISSING) -> Any:
    items = materialize(args[0]) if len(args) == 1 else list(args)
    return min(items) if default is _MISSING else min(items, default=default)


def _max(*args: Any, default: Any = _MISSING) -> Any:
    items = materialize(args[0]) if len(args) == 1 else list(args)
    return max(items) if default is _MISSING else max(items, default=default)


def _sum(iterable: Iterable[Any], start: int | float = 0) -> Any:
    # A list or tuple start would allow quadratic concatenation (`sum(lists, [])`).
    if type(start) not in (int, float, bool):
        raise EvalFailure("sum() only adds numbers")
    return sum(materialize(iterable), start)


def _round(number: Any, ndigits: int | None = None) -> Any:
    # round(5, -10**9) computes 10**(10**9) internally.
    if ndigits is not None and abs(ndigits) > current_limits().max_int_bits:
        raise EvalFailure("round(): ndigits out of range")
    return round(number) if ndigits is None else round(number, ndigits)


def _sorted(iterable: Iterable[Any], *, reverse: bool = False) -> list[Any]:
    items = materialize(iterable)
    items.sort(reverse=reverse)
    return items


def _any(iterable: Iterable[Any]) -> bool:
    return any(materialize(iterable))


def _all(iterable: Iterable[Any]) -> bool:
    return all(materialize(iterable))


def _str(value: Any = "") -> str:
    # str([s] * 100_000) would be 100_000 copies of s: measure containers first.
    check_data_size(value, current_limits().max_string_len, "value to convert to text")
    return str(value)


def _list(iterable: Iterable[Any] = ()) -> list[Any]:
    return materialize(iterable)


def _tuple(iterable: Iterable[Any] = ()) -> tuple[Any, ...]:
    return tuple(materialize(iterable))


def _set(iterable: Iterable[Any] = ()) -> set[Any]:
    return set(materialize(iterable))


class ThrownBpmnError(ExpressionError):
    """`raise_bpmn_error(code, message)` was called: the engine throws BPMN error `code` from the task.

    An `ExpressionError` so that it leaves the interpreter untouched (and a script's data changes
    are discarded, as for any failed script); the engine turns it into a BPMN error event.
    """

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(f"BPMN error {code!r} raised{': ' + message if message else ''}")
        self.code = code
        self.message = message


def raise_bpmn_error(code: str, message: str = "") -> None:
    """Throw BPMN error `code` (caught by error boundary events and error event sub-processes)."""
    if not isinstance(code, str) or not code:
        raise EvalFailure("raise_bpmn_error() needs a non-empty error code text")
    raise ThrownBpmnError(code, str(message))


def _dict(source: Any = (), **kwargs: Any) -> dict[Any, Any]:
    result = dict(source if type(source) is dict else materialize(source), **kwargs)
    check_collection_len(len(result))
    return result


def _enumerate(iterable: Iterable[Any], start: int = 0) -> list[tuple[int, Any]]:
    return materialize(enumerate(iterable, start))


def _zip(*iterables: Iterable[Any]) -> list[tuple[Any, ...]]:
    return materialize(zip(*iterables, strict=False))


def _reversed(sequence: Any) -> list[Any]:
    return materialize(reversed(sequence))


# Functions that read the evaluation's own names; the interpreter answers them itself. They take a
# variable NAME as text, so a model can test for an optional variable without a NameError.
CONTEXT_FUNCTIONS = frozenset({"defined", "value_of"})


def _evaluated_by_interpreter(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError("defined() and value_of() are evaluated by the interpreter")


# Names as the model writes them. Lists are returned where Python returns lazy iterators, so that
# results can be stored in instance data and inspected.
FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType({
    "len": _len,
    "defined": _evaluated_by_interpreter,
    "value_of": _evaluated_by_interpreter,
    "min": _min,
    "max": _max,
    "sum": _sum,
    "round": _round,
    "abs": abs,
    "sorted": _sorted,
    "any": _any,
    "all": _all,
    "str": _str,
    "int": int,
    "float": float,
    "bool": bool,
    "list": _list,
    "dict": _dict,
    "set": _set,
    "tuple": _tuple,
    "range": range,  # lazy and O(1) in memory; every consumer is bounded
    "enumerate": _enumerate,
    "zip": _zip,
    "reversed": _reversed,
    "now": dates.now,
    "today": dates.today,
    "date": dates.make_date,
    "datetime": dates.make_datetime,
    "timedelta": dates.make_timedelta,
    "parse_datetime": dates.parse_datetime,
    "parse_date": dates.parse_date,
    "format_datetime": dates.format_datetime,
    "add_days": dates.add_days,
    "days_between": dates.days_between,
    "duration": dates.duration,
    "raise_bpmn_error": raise_bpmn_error,
})
