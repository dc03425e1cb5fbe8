"""Size guards for values produced by expressions: materializing iterables, measuring, copying.

Every guard runs *before* the expensive allocation where the size can be known in advance, so a
hostile model is refused instead of exhausting memory.
"""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta
from itertools import islice
from typing import Any

from bpmn.expressions.limits import MAX_DATA_DEPTH, LimitExceeded, current_limits

SEQUENCES: frozenset[type] = frozenset({list, tuple, set, frozenset})
CONTAINERS: frozenset[type] = SEQUENCES | {dict}
# Values a script may share with the original data instead of copying: they cannot be changed.
IMMUTABLE: frozenset[type] = frozenset(
    {str, int, float, bool, type(None), date, datetime, timedelta, range, bytes}
)


def materialize(iterable: Any) -> list[Any]:
    """The items of `iterable` as a list, refusing more than `max_collection_len` of them.

    `islice` stops a `range(10**12)` after limit + 1 items instead of looping in C for hours.
    """
    limit = current_limits().max_collection_len
    items = list(islice(iterable, limit + 1))
    if len(items) > limit:
        raise LimitExceeded(f"too many items (more than {limit})")
    return items


def check_string_len(length: int) -> None:
    """Refuse a string of `length` characters before it is built."""
    limit = current_limits().max_string_len
    if length > limit:
        raise LimitExceeded(f"string too long ({length} characters; the limit is {limit})")


def check_collection_len(length: int) -> None:
    """Refuse a list/dict/set/tuple of `length` items before (or right after) it is built."""
    limit = current_limits().max_collection_len
    if length > limit:
        raise LimitExceeded(f"collection too long ({length} items; the limit is {limit})")


def check_int_bits(bits: int) -> None:
    """Refuse an integer of `bits` bits."""
    limit = current_limits().max_int_bits
    if bits > limit:
        raise LimitExceeded(f"number too large (about {bits} bits; the limit is {limit})")


def approx_size(value: Any, budget: int) -> int:
    """Roughly how many characters `value` takes as JSON/text; stops counting once over `budget`.

    Shared references count every time they appear, as they would when serialized; each shared
    container is walked once (`sizes` remembers it), so `x = [x, x]` sixty times is cheap to refuse.
    """
    if type(value) in CONTAINERS:
        return _container_size(value, budget, 0, {})
    return _scalar_size(value)


def _scalar_size(value: Any) -> int:
    kind = type(value)
    if kind is str:
        return len(value) + 2
    if kind is int:
        bits: int = value.bit_length()
        return bits // 3 + 1
    return 8


def _container_size(value: Any, budget: int, depth: int, sizes: dict[int, int]) -> int:
    # Runs over every value a script changed (all instance data when it grew): scalars are handled
    # inline, without a call.
    known = sizes.get(id(value))
    if known is not None:
        return known
    if depth >= MAX_DATA_DEPTH:
        raise LimitExceeded(f"data nested more than {MAX_DATA_DEPTH} levels deep (or containing itself)")
    total = 2 + len(value)
    for part in (value, value.values()) if type(value) is dict else (value,):
        for item in part:
            kind = type(item)
            if kind is str:
                total += len(item) + 2
            elif kind in CONTAINERS:
                total += _container_size(item, budget - total, depth + 1, sizes)
            elif kind is int:
                total += item.bit_length() // 3 + 1
            else:
                total += 8
            if total > budget:
                break
    # A container is remembered once walked (a partial size only when over budget, which ends the
    # walk); one still being walked is absent, so a cycle descends until the depth limit refuses it.
    sizes[id(value)] = total
    return total


def check_data_size(value: Any, budget: int, what: str) -> None:
    """Refuse `value` when its serialized form would exceed `budget` characters."""
    if type(value) in CONTAINERS and approx_size(value, budget) > budget:
        raise LimitExceeded(f"{what} too large (more than {budget} characters once serialized)")


def clone(value: Any, depth: int = 0) -> Any:
    """A deep copy of JSON-like data, much faster than `copy.deepcopy` for dicts and lists.

    A script gets a clone of every container it reads, so that an error half-way (or a change
    made in place) leaves the instance data untouched until the script's changes are committed.
    """
    kind = type(value)
    if kind in IMMUTABLE:
        return value
    if depth >= MAX_DATA_DEPTH:
        raise LimitExceeded(f"data nested more than {MAX_DATA_DEPTH} levels deep (or containing itself)")
    deeper = depth + 1
    if kind is dict:  # immutable items are shared inline: a script may read a large container
        return {key: item if type(item) in IMMUTABLE else clone(item, deeper) for key, item in value.items()}
    if kind is list:
        return [item if type(item) in IMMUTABLE else clone(item, deeper) for item in value]
    if kind is tuple:
        return tuple(clone(item, deeper) for item in value)
    return copy.deepcopy(value)
