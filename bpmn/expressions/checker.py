"""Parsing and the static checker: disallowed syntax is refused before anything runs.

Every node type the language allows has a handler below; any other node is refused with a
message naming the construct. The checker keeps going after a problem so that a model's author
sees every problem of an expression at once.
"""

from __future__ import annotations

import ast
import textwrap
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from bpmn.expressions.functions import FUNCTIONS
from bpmn.expressions.limits import Limits
from bpmn.expressions.methods import ATTRIBUTE_NAMES, METHOD_NAMES, MUTATING_METHODS

Problem = tuple[str, int | None]
Mode = Literal["eval", "exec"]

# Never data: introspection and code execution. Refused wherever the name appears.
FORBIDDEN_NAMES = frozenset({
    "eval", "exec", "compile", "globals", "locals", "vars", "getattr", "setattr", "delattr", "hasattr",
    "breakpoint", "memoryview", "super", "classmethod", "staticmethod", "isinstance", "issubclass",
})
# Builtins that are also plausible data names (a form field `type` or `input`): refused when called.
FORBIDDEN_CALLS = FORBIDDEN_NAMES | {
    "open", "type", "object", "property", "input", "help", "dir", "format", "print", "repr", "id",
    "hash", "iter", "next", "exit", "quit", "callable",
}
_FORMAT_METHODS = frozenset({"format", "format_map"})
_SORTING = frozenset({"sorted", "min", "max", "sort"})  # their key= would need a function value
# Leaf nodes that carry no code of their own; skipped when walking and when measuring depth.
_LEAVES = (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)
_REFUSED: dict[type[ast.AST], str] = {
    ast.While: "while loops are not allowed; use for over a bounded range",
    ast.Import: "imports are not allowed",
    ast.ImportFrom: "imports are not allowed",
    ast.FunctionDef: "defining functions (def) is not allowed",
    ast.AsyncFunctionDef: "defining functions (def) is not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.ClassDef: "defining classes is not allowed",
    ast.Try: "try/except is not allowed",
    ast.TryStar: "try/except is not allowed",
    ast.With: "with statements are not allowed",
    ast.AsyncWith: "with statements are not allowed",
    ast.AsyncFor: "async for is not allowed",
    ast.Global: "global is not allowed",
    ast.Nonlocal: "nonlocal is not allowed",
    ast.Return: "return is not allowed in a script",
    ast.Raise: "raise is not allowed",
    ast.Assert: "assert is not allowed",
    ast.Match: "match statements are not allowed",
    ast.AnnAssign: "annotated assignments are not allowed",
    ast.NamedExpr: "assignment expressions (:=) are not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
    ast.Await: "await is not allowed",
    ast.MatMult: "the @ operator is not allowed",
}


@dataclass(frozen=True)
class Compiled:
    """A parsed and checked source: `tree` is set only when there are no `problems`."""

    tree: ast.AST | None
    problems: tuple[Problem, ...]


def compile_checked(text: str, mode: Mode, limits: Limits) -> Compiled:
    """Parse and check `text`, cached: the same expressions run thousands of times.

    Large sources get a small cache of their own so that a few huge scripts cannot push every
    small expression out, nor hold much memory.
    """
    cached = _compile_small if len(text) <= 2_000 else _compile_large
    return cached(text, mode, limits.max_source_len, limits.max_depth)


def _compile(text: str, mode: Mode, max_source_len: int, max_depth: int) -> Compiled:
    if len(text) > max_source_len:
        message = f"source too long ({len(text)} characters; the limit is {max_source_len})"
        return Compiled(None, ((message, None),))
    tree, problem = _parse(text, mode)
    if tree is None:
        return Compiled(None, (problem or ("syntax error", None),))
    too_deep = _depth_problem(tree, max_depth)
    if too_deep is not None:
        return Compiled(None, (too_deep,))
    problems = tuple(_Checker(script=mode == "exec").check(tree))
    return Compiled(None if problems else tree, problems)


_compile_small = lru_cache(maxsize=4096)(_compile)
_compile_large = lru_cache(maxsize=32)(_compile)


def _parse(text: str, mode: Mode) -> tuple[ast.AST | None, Problem | None]:
    """The tree of `text`, or the problem that kept it from parsing."""
    if mode == "exec":
        source, offset = textwrap.dedent(text), 0  # scripts embedded in XML are often indented
    else:
        source = text.strip()
        offset = text[: len(text) - len(text.lstrip())].count("\n")
    try:
        with warnings.catch_warnings():  # e.g. SyntaxWarning for `x is 1`: not the author's problem here
            warnings.simplefilter("ignore")
            tree = ast.parse(source, mode=mode)
    except SyntaxError as exc:
        if mode == "eval":
            return None, _statement_in_expression(source, offset) or _syntax_problem(exc, offset)
        return None, _syntax_problem(exc, offset)
    except (MemoryError, RecursionError):  # the parser's own nesting guards
        return None, ("source nested too deeply", None)
    except ValueError as exc:  # e.g. NUL characters
        return None, (f"syntax error: {exc}", None)
    ast.increment_lineno(tree, offset)
    return tree, None


def _syntax_problem(exc: SyntaxError, offset: int) -> Problem:
    return f"syntax error: {exc.msg}", None if exc.lineno is None else max(exc.lineno, 1) + offset


def _statement_in_expression(source: str, offset: int) -> Problem | None:
    """When an expression is really a statement (`import os`), say so and name the construct."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = ast.parse(source, mode="exec")
    except (SyntaxError, MemoryError, RecursionError, ValueError):
        return None
    for statement in module.body:
        if not isinstance(statement, ast.Expr):
            kind = _REFUSED.get(type(statement), f"{type(statement).__name__.lower()} statement")
            return f"an expression cannot contain a statement ({kind})", statement.lineno + offset
    return None


def _depth_problem(tree: ast.AST, max_depth: int) -> Problem | None:
    """Refuse nesting deeper than `max_depth`; iterative, so that the check itself cannot overflow."""
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            return f"nested too deeply (more than {max_depth} levels)", getattr(node, "lineno", None)
        children = ast.iter_child_nodes(node)
        stack.extend((child, depth + 1) for child in children if not isinstance(child, _LEAVES))
    return None


class _Checker:
    """Walks a tree once and collects every problem; see `_HANDLERS` for what is allowed."""

    def __init__(self, *, script: bool) -> None:
        self.script = script
        self.problems: list[Problem] = []
        self.loops = 0  # enclosing for-loops, for break/continue
        self.line: int | None = None  # nodes without a line (comprehension, keyword) use their parent's

    def check(self, tree: ast.AST) -> list[Problem]:
        self.visit(tree)
        return self.problems

    def report(self, message: str, node: ast.AST | None = None) -> None:
        line = getattr(node, "lineno", None) or self.line
        if (message, line) not in self.problems:
            self.problems.append((message, line))

    def visit(self, node: ast.AST) -> None:
        line = getattr(node, "lineno", None)
        if line is not None:
            self.line = line
        handler = _HANDLERS.get(type(node))
        if handler is None:
            self.report(_REFUSED.get(type(node), f"{type(node).__name__} is not allowed"), node)
        else:
            handler(self, node)

    def visit_children(self, node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, _LEAVES):
                self.visit(child)

    def visit_operator(self, node: ast.BinOp | ast.AugAssign) -> None:
        if isinstance(node.op, ast.MatMult):
            self.report(_REFUSED[ast.MatMult], node)
        self.visit_children(node)

    def visit_constant(self, node: ast.Constant) -> None:
        if type(node.value) not in (str, int, float, bool, type(None)):
            self.report(f"{type(node.value).__name__} literals are not allowed", node)

    def visit_name(self, node: ast.Name) -> None:
        self.check_identifier(node.id, node)
        if node.id in FORBIDDEN_NAMES:
            self.report(f"'{node.id}' is not allowed", node)

    def check_identifier(self, name: str, node: ast.AST) -> bool:
        """Refuse `_`-names: every escape through Python's object model starts with one."""
        if name.startswith("_"):
            self.report(f"names starting with '_' are not allowed: '{name}'", node)
            return False
        return True

    def visit_attribute(self, node: ast.Attribute) -> None:
        """An attribute read that is not a method call: only the data attributes of dates."""
        self.visit(node.value)  # first, so that problems come in source order
        name = node.attr
        if not isinstance(node.ctx, ast.Load):
            self.report("assigning to attributes is not allowed", node)
        elif self.check_identifier(name, node):
            if name in _FORMAT_METHODS:
                self.report(f"str.{name} is not allowed (it can reach attributes); use an f-string", node)
            elif name in METHOD_NAMES and name not in ATTRIBUTE_NAMES:
                self.report(f"method '.{name}' can only be called", node)
            elif name not in ATTRIBUTE_NAMES:
                self.report(f"attribute '.{name}' is not allowed", node)

    def visit_call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name):
            self.check_function(func)
        elif isinstance(func, ast.Attribute):
            self.visit(func.value)  # first, so that problems come in source order
            self.check_method(func)
        else:
            self.visit(func)
            self.report("only the available functions and allowed methods can be called", node)
        for argument in node.args:
            self.visit(argument)
        for keyword in node.keywords:
            if keyword.arg is None:
                self.report("**-unpacking in calls is not allowed", keyword)
            elif keyword.arg == "key" and _callee(func) in _SORTING:
                self.report("key= is not allowed (functions cannot be passed)", keyword)
            else:
                self.check_identifier(keyword.arg, keyword)
            self.visit(keyword.value)

    def check_function(self, func: ast.Name) -> None:
        name = func.id
        if not self.check_identifier(name, func) or name in FUNCTIONS:
            return
        if name in FORBIDDEN_CALLS:
            self.report(f"'{name}' is not allowed", func)
        else:
            self.report(f"call to '{name}' is not allowed (not one of the available functions)", func)

    def check_method(self, func: ast.Attribute) -> None:
        name = func.attr
        if not self.check_identifier(name, func):
            return
        if name in _FORMAT_METHODS:
            self.report(f"str.{name} is not allowed (it can reach attributes); use an f-string", func)
        elif name not in METHOD_NAMES:
            self.report(f"method '.{name}' is not allowed", func)
        elif not self.script and name in MUTATING_METHODS:
            self.report(f"method '.{name}' changes data and is not allowed in an expression", func)

    def visit_formatted(self, node: ast.FormattedValue) -> None:
        if node.conversion != -1:
            self.report("conversions (!r, !s, !a) in f-strings are not allowed", node)
        self.visit_children(node)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        if node.is_async:
            self.report("async comprehensions are not allowed", node)
        if not all(isinstance(target, ast.Name | ast.Tuple | ast.List | ast.Starred)
                   for target in ast.walk(node.target) if not isinstance(target, _LEAVES)):
            self.report("a comprehension can only assign to names", node.target)
        self.visit_children(node)

    def visit_for(self, node: ast.For) -> None:
        self.visit(node.target)
        self.visit(node.iter)
        self.loops += 1
        for statement in node.body:
            self.visit(statement)
        self.loops -= 1
        for statement in node.orelse:
            self.visit(statement)

    def visit_loop_jump(self, node: ast.Break | ast.Continue) -> None:
        if self.loops == 0:
            self.report(f"'{type(node).__name__.lower()}' outside a for loop", node)

    def visit_delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            if not isinstance(target, ast.Name | ast.Subscript):
                self.report("del can only remove names and items", target)
        self.visit_children(node)


def _callee(func: ast.expr) -> str | None:
    """The name a call refers to: `f` in `f(...)`, `m` in `x.m(...)`."""
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


_Handler = Callable[[_Checker, Any], None]
_SCRIPT_ONLY: dict[type[ast.AST], _Handler] = {
    ast.Module: _Checker.visit_children,
    ast.Assign: _Checker.visit_children,
    ast.AugAssign: _Checker.visit_operator,
    ast.Delete: _Checker.visit_delete,
    ast.Expr: _Checker.visit_children,
    ast.If: _Checker.visit_children,
    ast.For: _Checker.visit_for,
    ast.Break: _Checker.visit_loop_jump,
    ast.Continue: _Checker.visit_loop_jump,
    ast.Pass: _Checker.visit_children,
}
# Statements only parse in "exec" mode, so one table serves expressions and scripts.
_HANDLERS: dict[type[ast.AST], _Handler] = {
    **_SCRIPT_ONLY,
    ast.Expression: _Checker.visit_children,
    ast.Constant: _Checker.visit_constant,
    ast.Name: _Checker.visit_name,
    ast.Attribute: _Checker.visit_attribute,
    ast.Call: _Checker.visit_call,
    ast.BinOp: _Checker.visit_operator,
    ast.FormattedValue: _Checker.visit_formatted,
    ast.comprehension: _Checker.visit_comprehension,
    **dict.fromkeys(
        (ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Subscript, ast.Slice, ast.List, ast.Tuple,
         ast.Set, ast.Dict, ast.Starred, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp,
         ast.JoinedStr),
        _Checker.visit_children,
    ),
}
