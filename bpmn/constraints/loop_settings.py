"""Loop and multi-instance settings that cannot run: checked at upload instead of failing at run time.

`loops` covers negative numbers and non-boolean conditions; these rules cover the rest of what
SpiffWorkflow 3.2.0 accepted and then ran wrongly or crashed on: a `loopMaximum` that is no integer,
a literal `loopCardinality` that is no non-negative integer, a multi-instance marker with neither or
both of `loopCardinality` and `loopDataInputRef`, and boolean flags with other values.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

from bpmn.constraints.model import Model, children
from bpmn.constraints.registry import Finding, at, rule

_BOOLEAN_FLAGS = {"standardLoopCharacteristics": ("testBefore",), "multiInstanceLoopCharacteristics": ("isSequential",)}
_XSD_BOOLEANS = frozenset({"true", "false", "1", "0"})
_BEHAVIORS = frozenset({"None", "One", "All", "Complex"})


def _owner(loop: Any) -> str:
    parent = loop.getparent()
    return str(parent.get("id")) if parent is not None and parent.get("id") else "an activity"


@rule("LOOP.002", "a loop maximum is a whole number")
def loop_maximum_is_integer(model: Model) -> Iterator[Finding]:
    for loop in model.all("standardLoopCharacteristics"):
        maximum = loop.get("loopMaximum")
        if maximum is not None and not maximum.strip().lstrip("-").isdigit():
            yield at(loop, f"loopMaximum of {_owner(loop)} is {maximum!r}; it must be a whole number")


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


@rule("LOOP.003", "a literal loop cardinality is a whole number")
def cardinality_is_integer(model: Model) -> Iterator[Finding]:
    for cardinality in model.all("loopCardinality"):
        text = (cardinality.text or "").strip()
        value = _literal(text) if text else None
        if not text:
            yield at(cardinality, f"the loopCardinality of {_owner(cardinality.getparent())} is empty")
        elif value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            yield at(cardinality, f"the loopCardinality of {_owner(cardinality.getparent())} is {text}; "
                                  "it must be a whole number (or an expression giving one)")


@rule("LOOP.004", "a multi-instance activity names exactly one of loopCardinality and loopDataInputRef")
def cardinality_or_collection(model: Model) -> Iterator[Finding]:
    for loop in model.all("multiInstanceLoopCharacteristics"):
        found = len(children(loop, "loopCardinality")) + len(children(loop, "loopDataInputRef"))
        if found != 1:
            problem = "neither" if found == 0 else "both"
            yield at(loop, f"the multi-instance marker of {_owner(loop)} has {problem} a loopCardinality "
                           "and a loopDataInputRef; it needs exactly one")


@rule("LOOP.005", "loop flags are booleans and behavior is None, One, All or Complex")
def loop_flags(model: Model) -> Iterator[Finding]:
    for name, flags in _BOOLEAN_FLAGS.items():
        for loop in model.all(name):
            for flag in flags:
                value = loop.get(flag)
                if value is not None and value.strip() not in _XSD_BOOLEANS:
                    yield at(loop, f"{flag} of {_owner(loop)} is {value!r}; it must be true or false")
    for loop in model.all("multiInstanceLoopCharacteristics"):
        behavior = loop.get("behavior")
        if behavior is not None and behavior not in _BEHAVIORS:
            yield at(loop, f"behavior of {_owner(loop)} is {behavior!r}; it must be None, One, All or Complex")
