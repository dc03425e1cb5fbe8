"""Instance data in and out of JSON: `json_safe` equals the JSON round trip it replaces, and typed
values anywhere in the data survive a snapshot."""

from __future__ import annotations

import enum
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from bpmn import Engine
from bpmn.harvest import _json_default, json_safe
from tests.bpmn.xml import chain, model

USER_TASK = model(f'<bpmn:startEvent id="start"/><bpmn:userTask id="review"/><bpmn:endEvent id="end"/>'
                  f'{chain("start", "review", "end")}')


class Colour(enum.IntEnum):
    RED = 1


class Label(str):
    """A text subclass: JSON makes plain text of it."""


class Unknown:
    """A value JSON has no type for: it becomes its text."""

    def __str__(self) -> str:
        return "unknown"


def round_trip(value: Any) -> Any:
    return json.loads(json.dumps(value, default=_json_default))


def shape(value: Any) -> Any:
    """The value with every leaf replaced by its exact type: tells `Label('x')` from `'x'`."""
    if type(value) is dict:
        return {key: shape(item) for key, item in value.items()}
    if type(value) is list:
        return [shape(item) for item in value]
    return type(value)


def deep(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = {"next": [value]}
    return value


SAMPLES: list[Any] = [
    {"n": 1, "f": 1.5, "b": True, "none": None, "s": "é\ud800", "items": [1, [2, [3]], {"k": "v"}]},
    {"pair": (1, (2, 3)), "empty": {}, "nothing": [], "neg": -0.0, "inf": float("inf")},
    {1: "int key", 2.5: "float key", False: "bool key", None: "none key"},
    {"1": "text first", 1: "int later"},  # JSON turns both keys into "1": the later one wins
    {"when": datetime(2026, 1, 2, 3, 4), "day": date(2026, 1, 2), "price": Decimal("9.99"),
     "tags": {"b", "a"}, "frozen": frozenset({2, 1}), "obj": Unknown()},
    {"enum": Colour.RED, "label": Label("x"), "nested": [{"deep": [Label("y"), Colour.RED]}]},
    {"big": 2 ** 5000, "small": 2 ** 64},
    deep(150),
    [1, "two", None],
    "text",
    42,
]


@pytest.mark.parametrize("value", SAMPLES, ids=range(len(SAMPLES)))
def test_json_safe_equals_the_json_round_trip(value: Any) -> None:
    result = json_safe(value)
    expected = round_trip(value)

    assert json.dumps(result) == json.dumps(expected)
    assert result == expected
    assert shape(result) == shape(expected)


def test_json_safe_returns_a_copy_that_shares_nothing_with_the_data() -> None:
    inner = {"qty": 1}
    data = {"lines": [inner], "meta": {"tags": ["a"]}}

    result = json_safe(data)
    result["lines"][0]["qty"] = 2
    result["meta"]["tags"].append("b")

    assert data == {"lines": [{"qty": 1}], "meta": {"tags": ["a"]}}


def test_json_safe_refuses_what_the_round_trip_refuses() -> None:
    looped: list[Any] = [1]
    looped.append(looped)
    with pytest.raises(ValueError, match="Circular reference"):
        json_safe({"looped": looped})
    with pytest.raises(ValueError, match="Exceeds the limit"):
        json_safe({"huge": 10 ** 5000})
    with pytest.raises(TypeError, match="keys must be"):
        json_safe({(1, 2): "tuple key"})


def test_typed_values_nested_anywhere_in_the_data_survive_a_snapshot() -> None:
    engine = Engine()
    variables = {"order": {"lines": [{"price": Decimal("1.10"), "due": date(2026, 3, 1)}],
                           "tags": {"b", "a"}, "at": datetime(2026, 3, 1, 9, tzinfo=UTC)},
                 "plain": [{"id": 1, "note": "x"}]}
    started = engine.start(USER_TASK, variables=variables)

    again = engine.inspect(USER_TASK, started.snapshot)
    done = engine.complete_work_item(USER_TASK, again.snapshot, work_item_id=started.work_items_opened[0].id)

    assert again.snapshot == started.snapshot
    assert done.variables == started.variables == json_safe(variables)
    assert done.variables["order"]["lines"][0] == {"price": "1.10", "due": "2026-03-01"}
    assert done.variables["order"]["at"] == "2026-03-01T09:00:00+00:00"
