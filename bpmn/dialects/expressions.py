"""Translating the simple subset of JUEL (`${...}`, Camunda 7) and FEEL (`=...`, Camunda 8) into our language.

The subset: variable paths (`order.total` -> `order["total"]`), string / number / boolean / null
literals, comparisons, `&&` `||` `!` (JUEL) and `and` `or` `not(...)` (FEEL), arithmetic and
parentheses. Anything else (function and method calls, ranges, filters, `instance of`, JUEL's
`empty`...) raises `UnsupportedExpression` naming what was found; the caller reports it at upload.
The translation is token by token, so the result is then checked like any expression we accept.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z_0-9]*(?:\s*\.\s*[A-Za-z_][A-Za-z_0-9]*)*)
  | (?P<op>==|!=|<=|>=|&&|\|\||[-+*/%<>()!=])
""", re.VERBOSE)
_JUEL_WORDS = {"true": "True", "false": "False", "null": "None", "and": "and", "or": "or", "not": "not",
               "eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">=", "div": "/", "mod": "%"}
_FEEL_WORDS = {"true": "True", "false": "False", "null": "None", "and": "and", "or": "or"}
_JUEL_OPS = {"&&": "and", "||": "or", "!": "not", "=": None}
_FEEL_OPS = {"=": "==", "!": None, "&&": None, "||": None, "==": None}


class UnsupportedExpression(ValueError):
    """The expression uses something outside the translated subset."""


def is_juel(text: str) -> bool:
    """Whether a text is a JUEL expression (`${...}` or `#{...}`)."""
    stripped = text.strip()
    return stripped.startswith(("${", "#{")) and stripped.endswith("}")


def is_feel(text: str) -> bool:
    """Whether a text is a FEEL expression (Camunda 8 writes them with a leading `=`)."""
    return text.strip().startswith("=")


def juel_to_expression(text: str) -> str:
    """`${a > 5 && b == "x"}` -> `a > 5 and b == "x"`."""
    return _translate(text.strip()[2:-1], _JUEL_WORDS, _JUEL_OPS, dialect="JUEL")


def feel_to_expression(text: str) -> str:
    """`= a > 5 and b = "x"` -> `a > 5 and b == "x"`."""
    return _translate(text.strip()[1:], _FEEL_WORDS, _FEEL_OPS, dialect="FEEL")


def value_to_expression(text: str) -> str:
    """A Camunda mapping value: JUEL or FEEL translated, anything else a string literal."""
    if is_juel(text):
        return juel_to_expression(text)
    if is_feel(text):
        return feel_to_expression(text)
    return repr(text)


def _translate(body: str, words: dict[str, str], ops: dict[str, str | None], *, dialect: str) -> str:
    out: list[str] = []
    position = 0
    while position < len(body):
        match = _TOKEN.match(body, position)
        if match is None:
            raise UnsupportedExpression(f"{dialect}: cannot translate {body[position:position + 20]!r}")
        position = match.end()
        kind, token = match.lastgroup, match.group()
        if kind == "space":
            continue
        if kind == "name":
            token = _name(token, words, body[position:], dialect)
        elif kind == "op" and token in ops:
            mapped = ops[token]
            if mapped is None:
                raise UnsupportedExpression(f"{dialect}: operator {token!r} is not supported")
            token = mapped
        out.append(token)
    if not out:
        raise UnsupportedExpression(f"{dialect}: the expression is empty")
    return " ".join(out)


def _name(token: str, words: dict[str, str], rest: str, dialect: str) -> str:
    parts = [p.strip() for p in token.split(".")]
    if rest.lstrip().startswith("(") and not (parts == ["not"] and dialect == "FEEL"):
        raise UnsupportedExpression(f"{dialect}: function or method call {token.strip()!r} is not supported")
    if len(parts) == 1:
        word = words.get(parts[0])
        if word is not None:
            return word
        if parts[0] in ("empty", "instance", "between", "some", "every", "for", "if", "in", "satisfies"):
            raise UnsupportedExpression(f"{dialect}: {parts[0]!r} is not supported")
        return parts[0]
    return parts[0] + "".join(f"[{p!r}]" for p in parts[1:])
