"""A script's changes are kept apart from the instance data: untouched data is shared, not copied,
and the data-size limit still holds for everything a script creates, grows or changes in place."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bpmn.errors import ExpressionError
from bpmn.expressions import DEFAULT_LIMITS, execute
from bpmn.expressions.values import approx_size

LIMIT = DEFAULT_LIMITS.max_data_size
CHUNK = 10_000  # characters per string; 600 of them are ~6 MB, well over half the data limit


def big_list(count: int = 600, letter: str = "x") -> list[str]:
    """A list of `count` distinct strings of CHUNK characters (distinct: nothing is shared)."""
    return [letter * (CHUNK - 5) + f"{index:05}" for index in range(count)]


def orders(count: int = 12) -> list[dict[str, Any]]:
    return [{"id": index, "status": "open", "lines": [{"sku": "a", "qty": 1}]} for index in range(count)]


def test_untouched_values_stay_the_same_objects_after_a_script() -> None:
    records = [{"id": index, "note": "x" * 40} for index in range(1_000)]
    data: dict[str, Any] = {"rounds": 1, "records": records}

    execute("rounds = rounds + 1", data)

    assert data["rounds"] == 2
    assert data["records"] is records  # neither copied nor replaced


def test_doubling_a_big_list_trips_the_size_limit_and_leaves_data_as_it_was() -> None:
    items = big_list()
    data: dict[str, Any] = {"items": items, "n": 1}
    before = copy.deepcopy(data)

    with pytest.raises(ExpressionError, match="instance data too large"):
        execute("items = items + items", data)

    assert data == before
    assert data["items"] is items


def test_growing_a_big_list_in_place_trips_the_size_limit_and_leaves_data_as_it_was() -> None:
    items = big_list()
    data: dict[str, Any] = {"items": items}
    before = copy.deepcopy(data)

    with pytest.raises(ExpressionError, match="instance data too large"):
        execute("items.extend(items)", data)

    assert data == before
    assert len(items) == 600


def test_a_new_value_that_makes_the_total_too_large_is_refused_although_it_fits_alone() -> None:
    data: dict[str, Any] = {"first": big_list(letter="a")}  # ~6 MB, already stored
    execute("n = len(first)", data)  # a script that grows the data a little still passes
    before = copy.deepcopy(data)

    with pytest.raises(ExpressionError, match="instance data too large"):
        execute("second = ['b' * 10000 for i in range(600)]", data)  # ~6 MB more: ~12 MB in all

    assert data == before


def test_growing_data_that_was_already_too_large_is_refused_even_by_a_small_value() -> None:
    data: dict[str, Any] = {"a": big_list(letter="a"), "b": big_list(letter="b")}  # ~12 MB from outside
    assert approx_size(data, LIMIT) > LIMIT

    with pytest.raises(ExpressionError, match="instance data too large"):
        execute("flag = True", data)

    assert "flag" not in data


def test_a_script_that_shrinks_data_that_was_too_large_runs() -> None:
    data: dict[str, Any] = {"a": big_list(letter="a"), "b": big_list(letter="b")}

    execute("del b\nsummary = len(a)", data)

    assert "b" not in data
    assert data["summary"] == 600
    assert approx_size(data, LIMIT) <= LIMIT


def test_filling_nested_inputs_in_place_cannot_bypass_the_size_limit() -> None:
    data: dict[str, Any] = {"orders": orders()}
    before = copy.deepcopy(data)
    inner = data["orders"][0]

    with pytest.raises(ExpressionError, match="instance data too large"):
        execute("for order in orders:\n    order['blob'] = 'y' * 900000", data)  # 12 x 0.9 MB

    assert data == before
    assert data["orders"][0] is inner
    assert "blob" not in inner


def test_a_nested_input_changed_through_an_alias_is_untouched_when_the_script_fails() -> None:
    data: dict[str, Any] = {"orders": orders()}
    inner = data["orders"][0]
    line = inner["lines"][0]

    with pytest.raises(ExpressionError, match="division by zero"):
        execute("first = orders[0]\nfirst['status'] = 'done'\nfirst['lines'][0]['qty'] = 99\nboom = 1 / 0", data)

    assert inner["status"] == "open"
    assert line == {"sku": "a", "qty": 1}
    assert "first" not in data


def test_a_nested_input_changed_in_place_is_committed_without_changing_the_original_objects() -> None:
    # SpiffWorkflow shares nested values between the data of a task and of its parent: changing the
    # original objects in place would change the data of tasks that already ran.
    data: dict[str, Any] = {"orders": orders()}
    shared = data["orders"]
    inner = shared[0]

    execute("first = orders[0]\nfirst['status'] = 'done'\norders.append({'id': 99})", data)

    assert data["orders"][0]["status"] == "done"
    assert data["first"] == data["orders"][0]
    assert data["orders"][-1] == {"id": 99}
    assert inner["status"] == "open"
    assert len(shared) == 12


def test_a_deleted_name_is_undefined_for_the_rest_of_the_script_and_removed_on_commit() -> None:
    data: dict[str, Any] = {"old": [1, 2], "keep": 1}

    execute("del old\nhad = defined('old')\nfallback = value_of('old', 'gone')", data)

    assert data == {"keep": 1, "had": False, "fallback": "gone"}
    with pytest.raises(ExpressionError, match="name 'old' is not defined"):
        execute("del old\nn = len(old)", {"old": [1]})
    with pytest.raises(ExpressionError, match="name 'old' is not defined"):
        execute("del old\ndel old", {"old": [1]})


def test_a_comprehension_that_shadows_an_input_container_leaves_it_intact() -> None:
    items = [3, 1, 2]
    data: dict[str, Any] = {"items": items}

    execute("squares = [items * items for items in range(3)]\ncount = len(items)\nitems.sort()", data)

    assert data["squares"] == [0, 1, 4]
    assert data["count"] == 3
    assert data["items"] == [1, 2, 3]
    assert items == [3, 1, 2]


def test_a_self_containing_value_made_from_an_input_is_refused() -> None:
    data: dict[str, Any] = {"items": [1, 2]}

    with pytest.raises(ExpressionError, match="nested more than"):
        execute("items.append(items)", data)

    assert data == {"items": [1, 2]}
