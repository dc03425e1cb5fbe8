"""A script's changes to instance data: kept apart from the data, measured, then committed.

A script does not work on a copy of all the instance data (copying and measuring ~1 MB of data
around a one-line script was most of a step's CPU). It writes into a `changes` overlay instead: the
names it assigned or deleted, and a private deep copy of every container it read (it might change
it in place, through `x.append(...)` or `x[k] = v`, or through an alias of a nested value). Values
it never touched stay shared with the data and are never walked. The instance data itself is only
written by `commit`, after the whole script succeeded, so a failing script leaves it as it was.

The data-size limit keeps its meaning: after a script, the data it leaves behind is at most
`max_data_size` characters once serialized, unless it was already larger before the script and
the script did not make it any larger (it cannot cause, nor grow, an oversized state).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bpmn.expressions.limits import LimitExceeded
from bpmn.expressions.values import approx_size, check_data_size


class _Deleted:
    """The value of a name the script deleted (`del x`); never visible to the script."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<deleted>"


DELETED: Any = _Deleted()


def check_size(data: Mapping[str, Any], changes: Mapping[str, Any], budget: int) -> None:
    """Refuse `changes` when the data they leave would be over `budget` characters because of them.

    Only the changed names are measured, unless the script made the data bigger: the new values
    (`added`) are compared with the values they replace (`replaced`, a walk that stops as soon as it
    reaches `added`). When nothing grew, the data is no larger than it was before the script; when
    something grew, the whole resulting data is measured exactly as a script's data always was.
    """
    added = approx_size({name: value for name, value in changes.items() if value is not DELETED}, budget)
    if added > budget:  # the changed names alone are too large: so is the data holding them
        raise LimitExceeded(f"instance data too large (more than {budget} characters once serialized)")
    replaced = approx_size({name: data[name] for name in changes if name in data}, added)
    if replaced < added:
        check_data_size(merged(data, changes), budget, "instance data")


def merged(data: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The data as it would be after `commit` (a shallow dict: values are not copied)."""
    result = {name: value for name, value in data.items() if changes.get(name) is not DELETED}
    result.update((name, value) for name, value in changes.items() if value is not DELETED)
    return result


def commit(data: dict[str, Any], changes: Mapping[str, Any]) -> None:
    """Apply a successful script's changes to the instance data, in place."""
    for name, value in changes.items():
        if value is DELETED:
            data.pop(name, None)
        else:
            data[name] = value
