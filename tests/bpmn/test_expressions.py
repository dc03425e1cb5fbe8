"""The restricted expression and script language: what works, and every escape refused before it runs."""

from __future__ import annotations

import copy
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bpmn.errors import ExpressionError
from bpmn.expressions import (
    DEFAULT_LIMITS,
    FUNCTIONS,
    Limits,
    check_expression,
    check_script,
    evaluate,
    execute,
)


def make_data() -> dict[str, Any]:
    return {
        "amount": 1500,
        "region": "EU",
        "items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 0}, {"sku": "c", "qty": 5}],
        "customer": {"name": "Ada Lovelace", "tier": "gold"},
        "tags": ["x", "y"],
        "missing": None,
    }


# --- what works ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("amount * 2 - 500", 2500),
        ("amount / 4", 375.0),
        ("amount // 7, amount % 7", (214, 2)),
        ("2 ** 10", 1024),
        ("-amount + +1", -1499),
        ("amount > 1000 and region == 'EU'", True),
        ("amount > 5000 or region", "EU"),
        ("not tags", False),
        ("1 < amount <= 1500 < 2000", True),
        ("'x' in tags and 'z' not in tags", True),
        ("missing is None and customer is not None", True),
        ("'big' if amount > 1000 else 'small'", "big"),
        ("items[0]['sku']", "a"),
        ("tags[-1]", "y"),
        ("customer['name'][:3]", "Ada"),
        ("[i['sku'] for i in items if i['qty'] > 0]", ["a", "c"]),
        ("{i['sku']: i['qty'] for i in items}", {"a": 2, "b": 0, "c": 5}),
        ("{t.upper() for t in tags}", {"X", "Y"}),
        ("sum(i['qty'] for i in items)", 7),
        ("[(t, n) for t in tags for n in range(2)]", [("x", 0), ("x", 1), ("y", 0), ("y", 1)]),
        ("f'{customer[\"name\"]} owes {amount:,.2f} ({region})'", "Ada Lovelace owes 1,500.00 (EU)"),
        ("f'{amount:>6}|'", "  1500|"),
        ("[*tags, 'z']", ["x", "y", "z"]),
        ("{**customer, 'tier': 'silver'}['tier']", "silver"),
        ("customer['name'].split()[1].lower()", "lovelace"),
        ("'-'.join(tags).replace('-', '+')", "x+y"),
        ("customer.get('phone', 'n/a')", "n/a"),
        ("sorted(customer.keys())", ["name", "tier"]),
        ("'12'.zfill(4)", "0012"),
    ],
)
def test_expressions_compute_like_python(expression, expected):
    assert evaluate(expression, make_data()) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("len(tags)", 2),
        ("min(3, 1, 2), max([4, 9])", (1, 9)),
        ("round(2.567, 2), abs(-3)", (2.57, 3)),
        ("sorted([3, 1, 2], reverse=True)", [3, 2, 1]),
        ("any([0, 1]), all([1, 0])", (True, False)),
        ("str(12) + str(int('3')) + str(float('1.5'))", "1231.5"),
        ("bool(''), list('ab'), tuple([1])", (False, ["a", "b"], (1,))),
        ("set([1, 1]), dict(a=1), dict([('b', 2)])", ({1}, {"a": 1}, {"b": 2})),
        ("list(range(0, 10, 3))", [0, 3, 6, 9]),
        ("list(enumerate(tags, 1))", [(1, "x"), (2, "y")]),
        ("list(zip(tags, [1, 2]))", [("x", 1), ("y", 2)]),
        ("list(reversed(tags))", ["y", "x"]),
    ],
)
def test_curated_functions_work(expression, expected):
    assert evaluate(expression, make_data()) == expected


def test_date_helpers_work():
    assert evaluate("date(2024, 2, 28)", {}) == date(2024, 2, 28)
    assert evaluate("datetime(2024, 1, 2, 3, 4, 5)", {}) == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert evaluate("timedelta(days=1, hours=2).total_seconds()", {}) == 93_600.0
    assert evaluate("parse_datetime('2024-05-01T10:00:00+02:00')", {}) == datetime(2024, 5, 1, 8, tzinfo=UTC)
    assert evaluate("parse_datetime('2024-05-01T10:00:00')", {}).tzinfo is UTC
    assert evaluate("parse_date('2024-05-01').isoweekday()", {}) == 3
    assert evaluate("format_datetime(datetime(2024, 1, 2))", {}) == "2024-01-02T00:00:00+00:00"
    assert evaluate("add_days('2024-02-28', 2)", {}) == "2024-03-01"
    assert evaluate("add_days(d, -1)", {"d": date(2024, 1, 1)}) == date(2023, 12, 31)
    assert evaluate("days_between('2024-01-01', '2024-03-01')", {}) == 60
    assert evaluate("duration('P1DT2H30M')", {}) == timedelta(days=1, hours=2, minutes=30)
    assert evaluate("duration('PT0.5S') + duration('P2W')", {}) == timedelta(weeks=2, seconds=0.5)
    assert evaluate("format_datetime(now()).endswith('+00:00')", {}) is True
    assert evaluate("today() == now().date()", {}) is True
    assert evaluate("d.year, d.month, d.day, d.hour, d.weekday()", {"d": datetime(2024, 5, 6, 7)}) == (
        2024, 5, 6, 7, 0,
    )


def test_durations_with_years_or_months_are_refused():
    with pytest.raises(ExpressionError, match="years and months"):
        evaluate("duration('P1M')", {})


def test_function_names_are_still_usable_as_data_names():
    assert evaluate("date + max(1, 2)", {"date": 10}) == 12


def test_extra_names_are_visible_after_data():
    assert evaluate("a + b", {"a": 1, "b": 2}, extra={"b": 100, "c": 3}) == 3
    assert evaluate("c", {}, extra={"c": 3}) == 3


def test_unknown_name_is_reported_by_name_with_element_and_line():
    with pytest.raises(ExpressionError) as info:
        evaluate("(1 +\nfoo)", {}, element_id="gw_1")
    assert info.value.detail == "name 'foo' is not defined"
    assert info.value.element_id == "gw_1"
    assert info.value.line == 2


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("1 / 0", "division by zero"),
        ("customer['phone']", "key 'phone' not found"),
        ("tags[5]", "index out of range"),
        ("amount + 'x'", "unsupported operand"),
        ("int('abc')", "invalid literal"),
        ("amount.year", "has no attribute 'year'"),
        ("amount.lower()", "has no method 'lower'"),
        ("sorted(tags, 1)", "sorted()"),
    ],
)
def test_runtime_errors_become_expression_errors(expression, message):
    with pytest.raises(ExpressionError, match=message) as info:
        evaluate(expression, make_data(), element_id="task_1")
    assert info.value.element_id == "task_1"
    assert info.value.line == 1


def test_expressions_cannot_change_data():
    data = make_data()
    for expression in ("tags.append(1)", "customer.update(a=1)", "customer.pop('name')", "tags.sort()"):
        assert check_expression(expression)
        with pytest.raises(ExpressionError, match="changes data"):
            evaluate(expression, data)
    assert evaluate("[tags for tags in [1, 2]]", data) == [1, 2]  # a comprehension name shadows, then is gone
    assert data == make_data()


# --- scripts ------------------------------------------------------------------------------------


def test_script_assignments_write_into_data():
    data = make_data()
    execute(
        "total = 0\n"
        "for item in items:\n"
        "    if item['qty'] == 0:\n"
        "        continue\n"
        "    total += item['qty']\n"
        "    if total > 100:\n"
        "        break\n"
        "else:\n"
        "    done = True\n"
        "customer['tier'] = 'platinum' if total > 5 else 'gold'\n"
        "first, *rest = tags\n"
        "tags.append('z')\n"
        "counts = {}\n"
        "counts['n'] = len(tags)\n"
        "del missing\n",
        data,
    )
    assert data["total"] == 7
    assert data["done"] is True
    assert data["customer"]["tier"] == "platinum"
    assert (data["first"], data["rest"]) == ("x", ["y"])
    assert data["tags"] == ["x", "y", "z"]
    assert data["counts"] == {"n": 3}
    assert "missing" not in data


def test_script_if_elif_else():
    data: dict[str, Any] = {"score": 55}
    script = "if score > 80:\n    grade = 'A'\nelif score > 50:\n    grade = 'B'\nelse:\n    grade = 'C'"
    execute(script, data)
    assert data["grade"] == "B"


def test_indented_script_from_xml_runs():
    data: dict[str, Any] = {}
    execute("\n        a = 1\n        b = a + 1\n", data)
    assert data == {"a": 1, "b": 2}


def test_execute_is_atomic_when_a_statement_fails_half_way():
    data = make_data()
    before = copy.deepcopy(data)
    with pytest.raises(ExpressionError) as info:
        execute("new = 1\ncustomer['tier'] = 'x'\ntags.append('z')\nboom = 1 / 0\nlater = 2", data,
                element_id="s1")
    assert info.value.line == 4
    assert info.value.element_id == "s1"
    assert data == before


def test_execute_does_not_change_extra_values():
    shared = {"items": [1, 2]}
    data: dict[str, Any] = {}
    execute("objects['items'].append(3)\ncopy = objects", data, extra={"objects": shared})
    assert shared == {"items": [1, 2]}
    assert data["copy"] == {"items": [1, 2, 3]}


def test_comprehension_variables_do_not_leak_into_data():
    data = {"x": "kept"}
    execute("squares = [x * x for x in range(3)]", data)
    assert data == {"x": "kept", "squares": [0, 1, 4]}


# --- escapes: refused with ExpressionError, naming the element, and nothing ran -------------------

ESCAPES = [
    ("__import__('os').system('touch {marker}')", "'__import__'"),
    ("().__class__.__bases__[0].__subclasses__()", "'_'"),
    ("'{0.__class__}'.format(1)", "str.format"),
    ("'{x.__class__}'.format_map(d)", "str.format_map"),
    ("f'{x.__class__}'", "'__class__'"),
    ("'a' * 10**10", "too long"),
    ("10**10**10", "too large"),
    ("[x for x in range(10**9)]", "exceeded 10000 iterations"),
    ("list(range(10**9))", "too many items"),
    ("eval('1')", "'eval' is not allowed"),
    ("exec('import os')", "'exec' is not allowed"),
    ("open('/etc/passwd')", "'open' is not allowed"),
    ("getattr(x, 'y')", "'getattr' is not allowed"),
    ("type(1)", "'type' is not allowed"),
    ("compile('1', 'f', 'eval')", "'compile' is not allowed"),
    ("globals()", "'globals' is not allowed"),
    ("lambda: 1", "lambda"),
    ("[].append.__self__", "'__self__'"),
    ("x.__dict__", "'__dict__'"),
    ("'%*d' % (10**9, 1)", "'%' formatting"),
    ("sorted([1], key=len)", "key="),
    ("f'{x!r}'", "conversions"),
    ("(lambda: 1)()", "lambda"),
    ("tags.copy", "can only be called"),
    ("'a'.encode()", "method '.encode' is not allowed"),
    ("1 << 10**10", "too large"),
    ("sum(range(10**12))", "too many items"),
    ("'-'.join(['x' * 1000] * 100000) ", "too long"),
    ("'x'.ljust(10**10)", "too long"),
    ("f'{1:>1000000000}'", "format width"),
    ("str(['x' * 1000000] * 100000)", "too large"),
]
SCRIPT_ESCAPES = [
    ("import os\nos.system('touch {marker}')", "imports are not allowed"),
    ("from os import system", "imports are not allowed"),
    ("while True:\n    pass", "while loops are not allowed; use for over a bounded range"),
    ("def f():\n    return 1", "defining functions"),
    ("class A:\n    pass", "defining classes"),
    ("try:\n    x = 1\nexcept Exception:\n    pass", "try/except"),
    ("with open('/etc/passwd') as f:\n    pass", "with statements"),
    ("global x", "global"),
    ("x = 1\nx.y = 2", "assigning to attributes"),
    ("for i in range(10**9):\n    pass", "exceeded 10000 iterations"),
    ("for i in range(1000):\n    for j in range(1000):\n        k = i * j", "exceeded 100000 steps"),
    ("s = 'x'\nfor i in range(40):\n    s = s + s", "too long"),
    ("a = [1]\nfor i in range(40):\n    a.extend(a)", "too long"),
    ("a = [1]\na.append(a)\nb = a", "nested more than"),
    ("x = []\nfor i in range(60):\n    x = [x, x]", "too large"),
    ("s = ['x' * 1000000] * 100000", "too large"),
    ("a = 'x' * 1000000\nfor i in range(10000):\n    n = a.count('y')", "exceeded 100000 steps"),
    ("a = list(range(100000))\nfor i in range(10000):\n    a.sort()", "exceeded 100000 steps"),
    ("a = [str(i) * 100 for i in range(10000)]\nfor i in range(10000):\n    b = 'z' in a", "exceeded"),
]


def _marker(tmp_path: Path) -> Path:
    return tmp_path / "escaped"


@pytest.mark.parametrize(("expression", "message"), ESCAPES)
def test_expression_escapes_are_refused_and_nothing_runs(expression, message, tmp_path):
    marker = _marker(tmp_path)
    data = {"x": 1, "d": {"x": 1}, "tags": ["a"], "sentinel": "untouched"}
    before = copy.deepcopy(data)
    started = time.perf_counter()
    with pytest.raises(ExpressionError, match=message) as info:
        evaluate(expression.replace("{marker}", str(marker)), data, element_id="gateway_7")
    assert time.perf_counter() - started < 2  # refused before the work, not after it
    assert info.value.element_id == "gateway_7"
    assert "gateway_7" in str(info.value)
    assert info.value.line == 1
    assert data == before
    assert not marker.exists()


@pytest.mark.parametrize(("script", "message"), SCRIPT_ESCAPES + ESCAPES)
def test_script_escapes_are_refused_and_data_is_unchanged(script, message, tmp_path):
    marker = _marker(tmp_path)
    data = {"x": 1, "d": {"x": 1}, "tags": ["a"], "sentinel": "untouched"}
    before = copy.deepcopy(data)
    started = time.perf_counter()
    with pytest.raises(ExpressionError, match=message) as info:
        execute("sentinel = 'ran'\n" + script.replace("{marker}", str(marker)), data, element_id="script_3")
    assert time.perf_counter() - started < 2  # bounded CPU
    assert info.value.element_id == "script_3"
    assert data == before
    assert not marker.exists()


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('touch /tmp/x')",
        "().__class__.__bases__[0].__subclasses__()",
        "'{0.__class__}'.format(1)",
        "eval('1')",
        "open('/etc/passwd')",
        "getattr(x, 'y')",
        "type(1)",
        "lambda: 1",
        "[].append.__self__",
    ],
)
def test_static_escapes_are_reported_without_running(text):
    assert check_expression(text)
    assert check_script(text)


def test_static_refusals_happen_before_any_statement_runs(tmp_path):
    marker = _marker(tmp_path)
    data = {"n": 0}
    with pytest.raises(ExpressionError, match="'open' is not allowed; imports are not allowed") as info:
        execute(f"n = 1\nx = open('{marker}', 'w')\nimport os", data)
    assert info.value.line == 2
    assert data == {"n": 0}
    assert not marker.exists()


def test_depth_bomb_is_refused_quickly():
    bombs = ["-" * 5000 + "1", "(" * 1000 + "1" + ")" * 1000, "1" + "+1" * 200, "[" * 60 + "]" * 60]
    for bomb in bombs:
        started = time.perf_counter()
        with pytest.raises(ExpressionError, match=r"nested|syntax"):
            evaluate(bomb, {}, element_id="e")
        assert check_expression(bomb)
        assert time.perf_counter() - started < 1


def test_very_long_source_is_refused():
    source = "1 + " * 10_000 + "1"
    message = f"source too long ({len(source)} characters; the limit is 20000)"
    assert check_expression(source) == [(message, None)]
    with pytest.raises(ExpressionError, match="source too long"):
        execute("x = 1\n" * 5_000, {})


def test_step_limit_stops_long_computations():
    with pytest.raises(ExpressionError, match="exceeded 50 steps"):
        evaluate("[i for i in range(100)]", {}, limits=Limits(max_steps=50))


def test_check_script_reports_every_problem_with_its_line():
    problems = check_script(
        "import os\nx = 1\nwhile x:\n    pass\ny = x.__class__\ndef f():\n    pass\nz = eval('1')"
    )
    assert problems == [
        ("imports are not allowed", 1),
        ("while loops are not allowed; use for over a bounded range", 3),
        ("names starting with '_' are not allowed: '__class__'", 5),
        ("defining functions (def) is not allowed", 6),
        ("'eval' is not allowed", 8),
    ]


def test_check_expression_reports_every_problem_with_its_line():
    problems = check_expression("(x.__class__ or\n open('f') or\n 'a'.format(1))")
    assert problems == [
        ("names starting with '_' are not allowed: '__class__'", 1),
        ("'open' is not allowed", 2),
        ("str.format is not allowed (it can reach attributes); use an f-string", 3),
    ]


def test_accepted_text_has_no_problems():
    assert check_expression("amount > 10 and region in ('EU', 'US')") == []
    assert check_script("total = sum(i['qty'] for i in items)\nif total:\n    flag = True") == []


def test_syntax_errors_are_reported_with_their_line():
    assert check_script("x = 1\ny = (") == [("syntax error: '(' was never closed", 2)]
    assert check_expression("") == [("syntax error: invalid syntax", 1)]


def test_break_outside_a_loop_is_refused():
    assert check_script("break") == [("'break' outside a for loop", 1)]


def test_objects_from_data_expose_no_attributes():
    class Secret:
        token = "s3cr3t"

        def reveal(self) -> str:
            return self.token

    assert check_expression("obj.token") == [("attribute '.token' is not allowed", 1)]
    with pytest.raises(ExpressionError, match="no method 'count'"):
        evaluate("obj.count('s')", {"obj": Secret()})


def test_functions_are_not_values():
    with pytest.raises(ExpressionError, match="name 'len' is not defined"):
        evaluate("len", {})


def test_functions_mapping_is_read_only_and_complete():
    assert {"len", "sorted", "now", "duration", "days_between"} <= set(FUNCTIONS)
    assert not {"eval", "exec", "open", "getattr", "type", "isinstance", "__import__"} & set(FUNCTIONS)
    with pytest.raises(TypeError):
        FUNCTIONS["eval"] = eval  # type: ignore[index]


def test_default_limits_match_the_contract():
    assert Limits() == DEFAULT_LIMITS
    limits = DEFAULT_LIMITS
    assert (limits.max_steps, limits.max_iterations, limits.max_depth) == (100_000, 10_000, 50)
    assert (limits.max_string_len, limits.max_int_bits, limits.max_source_len) == (1_000_000, 4096, 20_000)


def test_evaluation_is_fast_enough_for_the_engine():
    data = make_data()
    evaluate("amount > 1000 and region == 'EU'", data)  # parse once; later calls hit the cache
    started = time.perf_counter()
    for _ in range(2_000):
        evaluate("amount > 1000 and region == 'EU'", data)
    assert time.perf_counter() - started < 1


def test_defined_and_value_of_let_a_model_handle_optional_variables() -> None:
    assert evaluate('defined("period")', {"period": "2026-10"}) is True
    assert evaluate('defined("period")', {}) is False
    assert evaluate('value_of("timeout", "P2D")', {}) == "P2D"
    assert evaluate('value_of("timeout", "P2D")', {"timeout": "P1D"}) == "P1D"
    data: dict[str, object] = {}
    execute('if not defined("period"):\n    period = "2026-10"', data)
    assert data == {"period": "2026-10"}


def test_defined_refuses_anything_but_a_variable_name() -> None:
    with pytest.raises(ExpressionError):
        evaluate("defined(1)", {})
