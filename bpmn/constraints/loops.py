"""Loop and multi-instance rules, and conditions that must be boolean."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

from bpmn.constraints.model import Model, children, tag
from bpmn.constraints.registry import Finding, at, rule

_BOOLEAN_SITES = ("completionCondition", "loopCondition", "conditionExpression", "condition",
                  "activationCondition")


def _literal(text: str) -> Any:
    """The value of a literal expression (number, text...), or None when it is not a plain literal."""
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


@rule("EXT.071", "conditions are boolean expressions, not other literals")
def boolean_conditions(model: Model) -> Iterator[Finding]:
    for element in model.all(*_BOOLEAN_SITES):
        text = (element.text or "").strip()
        value = _literal(text) if text else None
        if value is not None and not isinstance(value, bool):
            owner = element.getparent()
            yield at(element, f"the {tag(element)} of {_owner_id(owner)} is the literal {text}, not a "
                              "boolean expression")


def _owner_id(element: Any) -> str:
    while element is not None and not element.get("id"):
        element = element.getparent()
    return str(element.get("id")) if element is not None else "the model"


@rule("EXT.041", "an activity has at most one loop characteristic")
def one_loop(model: Model) -> Iterator[Finding]:
    for element in model.root.iter():
        loops = children(element, "standardLoopCharacteristics", "multiInstanceLoopCharacteristics")
        if len(loops) > 1:
            yield at(element, f"{element.get('id')} has both a standard loop and a multi-instance marker")


@rule("LOOP.001", "a loop maximum and a literal loop cardinality are not negative")
def loop_numbers(model: Model) -> Iterator[Finding]:
    for loop in model.all("standardLoopCharacteristics"):
        maximum = loop.get("loopMaximum")
        if maximum is not None and maximum.strip().lstrip("-").isdigit() and int(maximum) < 0:
            yield at(loop, f"loopMaximum of {_owner_id(loop)} is {maximum}; it must not be negative")
    for cardinality in model.all("loopCardinality"):
        value = _literal(cardinality.text or "")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
            yield at(cardinality, f"the loopCardinality of {_owner_id(cardinality)} is {value}; it must not "
                                  "be negative")
