"""The statement part of the interpreter, for scripts.

A script's assignments, deletions and private copies of the containers it read go into `scope`
(`bpmn.expressions.changes`); the caller commits them only when the whole script succeeded.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from bpmn.errors import ExpressionError
from bpmn.expressions.changes import DELETED
from bpmn.expressions.interpreter import Dispatch, Interpreter
from bpmn.expressions.limits import EvalFailure, LimitExceeded
from bpmn.expressions.operators import BINARY


class _Break(BaseException):
    """Leaves the innermost for loop. A BaseException so that error translation never sees it."""


class _Continue(BaseException):
    """Goes on with the next iteration of the innermost for loop."""


class ScriptInterpreter(Interpreter):
    """Runs the statements of a script; `_STATEMENTS` maps each statement type to its handler."""

    __slots__ = ()

    def run(self, statements: list[ast.stmt]) -> None:
        """Run statements in order, counting one step each."""
        for statement in statements:
            self.steps += 1
            if self.steps > self.max_steps:
                raise self.error(f"script exceeded {self.max_steps} steps", statement)
            try:
                _STATEMENTS[statement.__class__](self, statement)
            except ExpressionError:
                raise
            except Exception as exc:
                raise self.failure(exc, statement) from None

    def expression(self, node: ast.Expr) -> None:
        self.eval(node.value)

    def assignment(self, node: ast.Assign) -> None:
        value = self.eval(node.value)
        for target in node.targets:
            self.assign(target, value)

    def augmented(self, node: ast.AugAssign) -> None:
        # `x += y` rebinds x to x + y (no in-place __iadd__): `items += range(10**12)` must fail
        # like `items + range(...)` does instead of extending in C.
        operation = BINARY[node.op.__class__]
        target = node.target
        if isinstance(target, ast.Name):
            current = self.load(target.id)
            self.scope[target.id] = self.account(operation(current, self.eval(node.value), self.limits))
        elif isinstance(target, ast.Subscript):
            container = self.eval(target.value)
            key = self.index(target.slice)
            result = operation(container[key], self.eval(node.value), self.limits)
            self.store_item(container, key, self.account(result))
        else:
            raise EvalFailure("augmented assignment needs a name or an item")

    def conditional_block(self, node: ast.If) -> None:
        self.run(node.body if self.eval(node.test) else node.orelse)

    def loop(self, node: ast.For) -> None:
        limit = self.limits.max_iterations
        for count, item in enumerate(self.eval(node.iter), 1):
            if count > limit:
                raise LimitExceeded(f"for loop exceeded {limit} iterations")
            self.assign(node.target, item)
            try:
                self.run(node.body)
            except _Break:
                return
            except _Continue:
                continue
        self.run(node.orelse)

    def pass_statement(self, node: ast.Pass) -> None:
        return

    def break_statement(self, node: ast.Break) -> None:
        raise _Break

    def continue_statement(self, node: ast.Continue) -> None:
        raise _Continue

    def delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            if isinstance(target, ast.Name):
                if not self.defines(target.id):
                    raise EvalFailure(f"name '{target.id}' is not defined")
                self.scope[target.id] = DELETED  # removed from the instance data on commit
            elif isinstance(target, ast.Subscript):
                container = self.eval(target.value)
                if container.__class__ not in (dict, list):
                    raise EvalFailure(f"cannot delete items of a {type(container).__name__}")
                del container[self.index(target.slice)]
            else:
                raise EvalFailure("del can only remove names and items")


_STATEMENTS: dict[type[ast.AST], Callable[[ScriptInterpreter, Any], None]] = Dispatch({
    ast.Expr: ScriptInterpreter.expression,
    ast.Assign: ScriptInterpreter.assignment,
    ast.AugAssign: ScriptInterpreter.augmented,
    ast.If: ScriptInterpreter.conditional_block,
    ast.For: ScriptInterpreter.loop,
    ast.Pass: ScriptInterpreter.pass_statement,
    ast.Break: ScriptInterpreter.break_statement,
    ast.Continue: ScriptInterpreter.continue_statement,
    ast.Delete: ScriptInterpreter.delete,
})
