"""Operator tables of the interpreter, with size guards on the operators that can explode.

`'a' * 10**10`, `10**10**10` and `1 << 10**10` are refused from the sizes of their operands,
before Python allocates anything.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable
from typing import Any

from bpmn.expressions.limits import EvalFailure, LimitExceeded, Limits
from bpmn.expressions.values import materialize

BinaryOp = Callable[[Any, Any, Limits], Any]
_REPEATABLE = (str, list, tuple, bytes, bytearray)
_SPEC_NUMBER = re.compile(r"\d+")


def _plain(op: Callable[[Any, Any], Any]) -> BinaryOp:
    def apply(left: Any, right: Any, limits: Limits) -> Any:
        return op(left, right)

    return apply


def _check_repeat(sequence: Any, count: int, limits: Limits) -> None:
    limit = limits.max_string_len if isinstance(sequence, str) else limits.max_collection_len
    if count > 0 and len(sequence) * count > limit:
        unit = "characters" if isinstance(sequence, str) else "items"
        raise LimitExceeded(f"result of * too long ({len(sequence) * count} {unit}; the limit is {limit})")


def _multiply(left: Any, right: Any, limits: Limits) -> Any:
    if isinstance(left, _REPEATABLE) and isinstance(right, int):
        _check_repeat(left, right, limits)
    elif isinstance(right, _REPEATABLE) and isinstance(left, int):
        _check_repeat(right, left, limits)
    return left * right


def _power(base: Any, exponent: Any, limits: Limits) -> Any:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0:
        # |base| ** exponent has at least (bits - 1) * exponent bits: refuse before computing.
        bits = abs(base).bit_length()
        if bits > 1 and (bits - 1) * exponent > limits.max_int_bits:
            raise LimitExceeded(f"result of ** too large (the limit is {limits.max_int_bits} bits)")
    return base**exponent


def _left_shift(value: Any, shift: Any, limits: Limits) -> Any:
    ints = isinstance(value, int) and isinstance(shift, int)
    if ints and value and value.bit_length() + shift > limits.max_int_bits:
        raise LimitExceeded(f"result of << too large (the limit is {limits.max_int_bits} bits)")
    return value << shift


def _modulo(left: Any, right: Any, limits: Limits) -> Any:
    # '%*d' % (10**9, 1) pads to a gigabyte; f-strings are checked instead.
    if isinstance(left, str | bytes):
        raise EvalFailure("printf-style '%' formatting is not allowed; use an f-string")
    return left % right


BINARY: dict[type[ast.operator], BinaryOp] = {
    ast.Add: _plain(operator.add),  # results are at most twice the limit, then checked
    ast.Sub: _plain(operator.sub),
    ast.Mult: _multiply,
    ast.Div: _plain(operator.truediv),
    ast.FloorDiv: _plain(operator.floordiv),
    ast.Mod: _modulo,
    ast.Pow: _power,
    ast.LShift: _left_shift,
    ast.RShift: _plain(operator.rshift),
    ast.BitOr: _plain(operator.or_),
    ast.BitXor: _plain(operator.xor),
    ast.BitAnd: _plain(operator.and_),
}

UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Not: operator.not_,
    ast.Invert: operator.invert,
}


def contains(container: Any, item: Any) -> bool:
    """`item in container`; `1.5 in range(10**12)` would scan the range in C, so bound it."""
    if type(container) is range and type(item) not in (int, bool):
        return item in materialize(container)
    return item in container


COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
    ast.In: lambda left, right: contains(right, left),
    ast.NotIn: lambda left, right: not contains(right, left),
}


def check_format_spec(spec: str, limits: Limits) -> None:
    """Refuse widths and precisions (`{x:>1000000000}`) that would build a huge string."""
    for number in _SPEC_NUMBER.findall(spec):
        if len(number) > 9 or int(number) > limits.max_string_len:
            raise LimitExceeded(f"format width or precision too large (the limit is {limits.max_string_len})")
