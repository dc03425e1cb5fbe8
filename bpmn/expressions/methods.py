"""The methods and attributes a model may use, per receiver type.

Lookups go by the receiver's type, never through `getattr` on the object, and call the function
of the base type (`str.lower(x)`), so an object of any other type exposes nothing and a subclass
cannot substitute its own code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from operator import attrgetter
from typing import Any

from bpmn.expressions.limits import current_limits
from bpmn.expressions.values import check_string_len, materialize

Method = Callable[..., Any]


def _split(text: str, sep: str | None = None, maxsplit: int = -1) -> list[str]:
    # Splitting a 1 MB string into single characters would make a million objects: cap the
    # number of parts; a result longer than the limit means the real one was too.
    limit = current_limits().max_collection_len
    parts = text.split(sep, limit if maxsplit < 0 else min(maxsplit, limit))
    if len(parts) > limit:
        raise ValueError(f"split(): too many parts (more than {limit})")
    return parts


def _rsplit(text: str, sep: str | None = None, maxsplit: int = -1) -> list[str]:
    limit = current_limits().max_collection_len
    parts = text.rsplit(sep, limit if maxsplit < 0 else min(maxsplit, limit))
    if len(parts) > limit:
        raise ValueError(f"rsplit(): too many parts (more than {limit})")
    return parts


def _join(sep: str, iterable: Any) -> str:
    items = materialize(iterable)
    total = sum(len(item) for item in items if type(item) is str) + len(sep) * max(len(items) - 1, 0)
    check_string_len(total)
    return sep.join(items)


def _replace(text: str, old: str, new: str, count: int = -1) -> str:
    found = text.count(old)
    if count >= 0:
        found = min(found, count)
    check_string_len(len(text) + found * (len(new) - len(old)))
    return text.replace(old, new, count)


def _padder(pad: Callable[..., str]) -> Method:
    """Wrap zfill/ljust/rjust/center so that the width is checked before the padding is built."""

    def padded(text: str, width: int, *fill: str) -> str:
        check_string_len(width)
        return pad(text, width, *fill)

    return padded


def _extend(items: list[Any], other: Any) -> None:
    # list.extend(range(10**12)) would loop in C: materialize under the limit first.
    items.extend(materialize(other))


def _set_method(method: Callable[..., Any]) -> Method:
    """Wrap a set method so that its iterable arguments are materialized under the limit."""

    def bounded(items: set[Any], *others: Any) -> Any:
        return method(items, *(materialize(other) for other in others))

    return bounded


def _sort(items: list[Any], *, reverse: bool = False) -> None:
    items.sort(reverse=reverse)  # no key=: the language has no function values


def _keys(mapping: dict[Any, Any]) -> list[Any]:
    return list(mapping)  # a list, not a view, so that it can be stored in instance data


def _values(mapping: dict[Any, Any]) -> list[Any]:
    return list(mapping.values())


def _items(mapping: dict[Any, Any]) -> list[tuple[Any, Any]]:
    return list(mapping.items())


_STR: dict[str, Method] = {
    "lower": str.lower, "upper": str.upper, "casefold": str.casefold, "swapcase": str.swapcase,
    "strip": str.strip, "lstrip": str.lstrip, "rstrip": str.rstrip,
    "startswith": str.startswith, "endswith": str.endswith,
    "removeprefix": str.removeprefix, "removesuffix": str.removesuffix,
    "title": str.title, "capitalize": str.capitalize,
    "isdigit": str.isdigit, "isalpha": str.isalpha, "isalnum": str.isalnum, "isspace": str.isspace,
    "isdecimal": str.isdecimal, "isnumeric": str.isnumeric, "islower": str.islower, "isupper": str.isupper,
    "count": str.count, "find": str.find, "rfind": str.rfind, "index": str.index,
    "partition": str.partition, "rpartition": str.rpartition,
    "split": _split, "rsplit": _rsplit, "join": _join, "replace": _replace,
    "zfill": _padder(str.zfill), "ljust": _padder(str.ljust), "rjust": _padder(str.rjust),
    "center": _padder(str.center),
}
_LIST: dict[str, Method] = {
    "append": list.append, "extend": _extend, "insert": list.insert, "remove": list.remove,
    "pop": list.pop, "index": list.index, "count": list.count, "sort": _sort, "reverse": list.reverse,
    "copy": list.copy,
}
_DICT: dict[str, Method] = {
    "get": dict.get, "keys": _keys, "values": _values, "items": _items, "update": dict.update,
    "pop": dict.pop, "setdefault": dict.setdefault, "copy": dict.copy,
}
_SET: dict[str, Method] = {
    "add": set.add, "discard": set.discard, "remove": set.remove, "union": _set_method(set.union),
    "intersection": _set_method(set.intersection), "difference": _set_method(set.difference),
    "issubset": _set_method(set.issubset), "issuperset": _set_method(set.issuperset), "copy": set.copy,
}
_TUPLE: dict[str, Method] = {"index": tuple.index, "count": tuple.count}
_DATE: dict[str, Method] = {
    "isoformat": date.isoformat, "weekday": date.weekday, "isoweekday": date.isoweekday,
}
_DATETIME: dict[str, Method] = {
    "isoformat": datetime.isoformat, "weekday": datetime.weekday, "isoweekday": datetime.isoweekday,
    "date": datetime.date,
}
_TIMEDELTA: dict[str, Method] = {"total_seconds": timedelta.total_seconds}

METHODS: Mapping[type, Mapping[str, Method]] = {
    str: _STR, list: _LIST, dict: _DICT, set: _SET, tuple: _TUPLE,
    date: _DATE, datetime: _DATETIME, timedelta: _TIMEDELTA,
}

_DATE_FIELDS = ("year", "month", "day")
ATTRIBUTES: Mapping[type, Mapping[str, Callable[[Any], Any]]] = {
    date: {name: attrgetter(name) for name in _DATE_FIELDS},
    datetime: {name: attrgetter(name) for name in (*_DATE_FIELDS, "hour", "minute", "second", "microsecond")},
    timedelta: {name: attrgetter(name) for name in ("days", "seconds", "microseconds")},
}

METHOD_NAMES: frozenset[str] = frozenset(name for table in METHODS.values() for name in table)
ATTRIBUTE_NAMES: frozenset[str] = frozenset(name for table in ATTRIBUTES.values() for name in table)
# Methods that change their receiver: refused in expressions, which must not change instance data.
MUTATING_METHODS: frozenset[str] = frozenset({
    "append", "extend", "insert", "remove", "pop", "sort", "reverse",  # list
    "update", "setdefault", "add", "discard",  # dict, set
})


def _lookup(tables: Mapping[type, Mapping[str, Any]], kind: type, name: str) -> Any:
    table = tables.get(kind)
    if table is None:  # a subclass of an allowed type: use the base type's own functions
        table = next((tables[base] for base in kind.__mro__ if base in tables), None)
    return None if table is None else table.get(name)


def find_method(kind: type, name: str) -> Method | None:
    """The allowed method `name` of receivers of type `kind`, or None."""
    method: Method | None = _lookup(METHODS, kind, name)
    return method


def find_attribute(kind: type, name: str) -> Callable[[Any], Any] | None:
    """The getter of the allowed attribute `name` of values of type `kind`, or None."""
    getter: Callable[[Any], Any] | None = _lookup(ATTRIBUTES, kind, name)
    return getter
