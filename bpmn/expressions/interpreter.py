"""The evaluator of expressions: walks a checked tree, counting steps and guarding sizes.

Dispatch goes through `_EXPRESSIONS` (node type -> handler). `Interpreter.eval` is the hot path:
one counter, one dict lookup, and a `try` that costs nothing until something fails.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from typing import Any

from bpmn.errors import ExpressionError
from bpmn.expressions.changes import DELETED
from bpmn.expressions.functions import CONTEXT_FUNCTIONS, FUNCTIONS
from bpmn.expressions.limits import EvalFailure, LimitExceeded, Limits, describe_failure, shorten
from bpmn.expressions.methods import find_attribute, find_method
from bpmn.expressions.operators import BINARY, COMPARE, UNARY, check_format_spec
from bpmn.expressions.values import (
    CONTAINERS,
    IMMUTABLE,
    check_collection_len,
    check_data_size,
    check_string_len,
    clone,
    materialize,
)

_MISSING: Any = object()
_GROWABLE = frozenset({list, dict, set})
# Methods that hand back an object that already exists: allocation is not charged for them.
_NO_ALLOCATION = frozenset({"get", "pop", "setdefault", "index", "count", "find", "rfind"})
# Methods whose cost does not grow with the size of their receiver (a scan of the receiver is
# charged for every other method: `big.count('x')` ten thousand times would take seconds).
_CONSTANT_TIME = frozenset({
    (dict, "get"), (dict, "pop"), (dict, "setdefault"), (dict, "update"), (set, "add"), (set, "discard"),
    (list, "append"), (list, "extend"),
})
_CONSTANT_TIME_FUNCTIONS = frozenset({"len"})
# One extra step per 256 characters / 8 items built or scanned, so that the step limit also
# bounds the CPU and the memory of a call (about 30 MB in total at the default limits).
_CHARS_PER_STEP_SHIFT = 8
_ITEMS_PER_STEP_SHIFT = 3


class Interpreter:
    """Evaluates expressions over `scope` (locals), then `data` (read-only), then `extra`.

    In a script, `scope` holds the script's changes (`bpmn.expressions.changes`): every name it
    assigned or deleted and a private copy of every container it read from `data`.
    """

    __slots__ = (
        "data", "element_id", "extra", "extra_copies", "limits", "max_steps", "scope", "script", "steps",
    )

    def __init__(self, *, scope: dict[str, Any], data: Mapping[str, Any], extra: Mapping[str, Any],
                 limits: Limits, element_id: str | None, script: bool) -> None:
        self.scope = scope
        self.data = data
        self.extra = extra
        self.extra_copies: dict[str, Any] = {}
        self.limits = limits
        self.max_steps = limits.max_steps
        self.element_id = element_id
        self.script = script
        self.steps = 0

    def eval(self, node: ast.expr) -> Any:
        """The value of `node`; every failure becomes an ExpressionError carrying the node's line."""
        self.steps += 1
        if self.steps > self.max_steps:
            raise self.error(f"expression exceeded {self.max_steps} steps", node)
        try:
            return _EXPRESSIONS[node.__class__](self, node)
        except ExpressionError:
            raise
        except Exception as exc:
            raise self.failure(exc, node) from None

    def error(self, message: str, node: ast.AST | None) -> ExpressionError:
        """An ExpressionError located at `node`."""
        return ExpressionError(shorten(message), element_id=self.element_id, line=getattr(node, "lineno", None))

    def failure(self, exc: Exception, node: ast.AST) -> ExpressionError:
        """Translate a Python exception into the author's terms."""
        return self.error(describe_failure(exc), node)

    def account(self, value: Any) -> Any:
        """Check the size of a freshly built value and charge steps for building it."""
        kind = value.__class__
        if kind is str:
            size = len(value)
            if size > self.limits.max_string_len:
                check_string_len(size)  # raises, with the message
            self.charge(value)
        elif kind is int:
            if value.bit_length() > self.limits.max_int_bits:
                raise LimitExceeded(f"number too large (the limit is {self.limits.max_int_bits} bits)")
        elif kind in CONTAINERS:
            check_collection_len(len(value))
            self.charge(value)
        return value

    def charge(self, *values: Any) -> None:
        """Charge steps for work that grows with the size of `values` (scans, sorts, copies).

        Called before the work where possible, so that the limit stops it instead of counting it.
        """
        cost = 0
        for value in values:
            kind = value.__class__
            if kind is str:
                cost += len(value) >> _CHARS_PER_STEP_SHIFT
            elif kind in CONTAINERS:
                cost += len(value) >> _ITEMS_PER_STEP_SHIFT
        if cost:
            self.steps += cost
            if self.steps > self.max_steps:
                raise LimitExceeded(f"expression exceeded {self.max_steps} steps")

    # -- names and assignment (comprehensions bind names too, so these live here) --

    def load(self, name: str) -> Any:
        """A name's value: locals (a script's changes) first, then the instance data, then `extra`."""
        value = self.scope.get(name, _MISSING)
        if value is _MISSING:
            value = self.data.get(name, _MISSING)
            if value is _MISSING:
                value = self.load_extra(name)
            elif self.script and type(value) not in IMMUTABLE:
                # Copy on first read: the script may change a container in place (or through an
                # alias of a nested value), and the instance data must stay untouched until commit.
                value = self.scope[name] = clone(value)
        elif value is DELETED:
            raise EvalFailure(f"name '{name}' is not defined")
        return value

    def defines(self, name: str) -> bool:
        """Whether `name` is a local or instance-data name now (not `extra`, not deleted)."""
        value = self.scope.get(name, _MISSING)
        return name in self.data if value is _MISSING else value is not DELETED

    def load_extra(self, name: str) -> Any:
        value = self.extra.get(name, _MISSING)
        if value is _MISSING:
            raise EvalFailure(f"name '{name}' is not defined")
        if not self.script:  # expressions cannot change anything (mutating methods are refused)
            return value
        copied = self.extra_copies.get(name, _MISSING)
        if copied is _MISSING:  # scripts get a copy: `extra` is read-only
            copied = self.extra_copies[name] = clone(value)
        return copied

    def assign(self, target: ast.expr, value: Any) -> None:
        """Bind `value` to a name, an item, or (unpacking) a tuple/list of targets."""
        if isinstance(target, ast.Name):
            self.scope[target.id] = value
        elif isinstance(target, ast.Subscript):
            container = self.eval(target.value)
            self.store_item(container, self.index(target.slice), value)
        elif isinstance(target, ast.Tuple | ast.List):
            self.unpack(target.elts, value)
        else:
            raise EvalFailure(f"cannot assign to {type(target).__name__}")

    def unpack(self, targets: list[ast.expr], value: Any) -> None:
        items = materialize(value)
        star = next((i for i, target in enumerate(targets) if isinstance(target, ast.Starred)), -1)
        if star < 0:
            if len(items) != len(targets):
                raise EvalFailure(f"cannot unpack {len(items)} values into {len(targets)} targets")
            for target, item in zip(targets, items, strict=True):
                self.assign(target, item)
            return
        after = len(targets) - star - 1
        if len(items) < star + after:
            raise EvalFailure(f"not enough values to unpack (expected at least {star + after})")
        for target, item in zip(targets[:star], items[:star], strict=True):
            self.assign(target, item)
        starred = targets[star]
        inner = starred.value if isinstance(starred, ast.Starred) else starred  # always Starred; narrows
        self.assign(inner, items[star:len(items) - after])
        for target, item in zip(targets[star + 1:], items[len(items) - after:], strict=True):
            self.assign(target, item)

    def store_item(self, container: Any, key: Any, value: Any) -> None:
        """`container[key] = value`, for lists and dicts only, within the size limits."""
        if container.__class__ not in (dict, list):
            raise EvalFailure(f"cannot assign items of a {type(container).__name__}")
        container[key] = value
        check_collection_len(len(container))

    def index(self, node: ast.expr) -> Any:
        """The key of a subscript: a value or a slice object."""
        if isinstance(node, ast.Slice):
            parts = (node.lower, node.upper, node.step)
            return slice(*(None if part is None else self.eval(part) for part in parts))
        return self.eval(node)

    # -- expression handlers --

    def constant(self, node: ast.Constant) -> Any:
        return node.value

    def name(self, node: ast.Name) -> Any:
        return self.load(node.id)

    def binary(self, node: ast.BinOp) -> Any:
        left = self.eval(node.left)
        right = self.eval(node.right)
        self.charge(left, right)  # e.g. set differences and big-int arithmetic scan their operands
        return self.account(BINARY[node.op.__class__](left, right, self.limits))

    def unary(self, node: ast.UnaryOp) -> Any:
        return UNARY[node.op.__class__](self.eval(node.operand))

    def boolean(self, node: ast.BoolOp) -> Any:
        want = node.op.__class__ is ast.Or  # `or` stops at the first true value, `and` at the first false
        result: Any = None
        for value in node.values:
            result = self.eval(value)
            if bool(result) is want:
                return result
        return result

    def compare(self, node: ast.Compare) -> Any:
        left = self.eval(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.eval(comparator)
            self.charge(left, right)  # `in` and `==` on lists and strings scan them
            if not COMPARE[op.__class__](left, right):
                return False
            left = right
        return True

    def conditional(self, node: ast.IfExp) -> Any:
        return self.eval(node.body if self.eval(node.test) else node.orelse)

    def subscript(self, node: ast.Subscript) -> Any:
        value = self.eval(node.value)
        if node.slice.__class__ is ast.Slice:
            return self.account(value[self.index(node.slice)])  # slices copy
        return value[self.eval(node.slice)]

    def attribute(self, node: ast.Attribute) -> Any:
        value = self.eval(node.value)
        getter = find_attribute(type(value), node.attr)
        if getter is None:
            raise EvalFailure(f"a {type(value).__name__} value has no attribute '{node.attr}'")
        return getter(value)

    def elements(self, nodes: list[ast.expr]) -> list[Any]:
        """The items of a display or the positional arguments of a call, expanding `*x`."""
        items: list[Any] = []
        for node in nodes:
            if isinstance(node, ast.Starred):
                items.extend(materialize(self.eval(node.value)))
                check_collection_len(len(items))
            else:
                items.append(self.eval(node))
        return items

    def list_display(self, node: ast.List) -> Any:
        return self.account(self.elements(node.elts))

    def tuple_display(self, node: ast.Tuple) -> Any:
        return self.account(tuple(self.elements(node.elts)))

    def set_display(self, node: ast.Set) -> Any:
        return self.account(set(self.elements(node.elts)))

    def dict_display(self, node: ast.Dict) -> Any:
        result: dict[Any, Any] = {}
        for key, value in zip(node.keys, node.values, strict=True):
            if key is None:  # {**mapping}
                result.update(self.eval(value))
            else:
                result[self.eval(key)] = self.eval(value)
        return self.account(result)

    def joined_string(self, node: ast.JoinedStr) -> Any:
        return self.account("".join([self.eval(value) for value in node.values]))

    def formatted_value(self, node: ast.FormattedValue) -> Any:
        value = self.eval(node.value)
        spec = "" if node.format_spec is None else self.eval(node.format_spec)
        check_format_spec(spec, self.limits)
        check_data_size(value, self.limits.max_string_len, "value to format")
        return self.account(format(value, spec))

    def call(self, node: ast.Call) -> Any:
        func = node.func
        if isinstance(func, ast.Name):
            return self.call_function(func.id, node)
        if not isinstance(func, ast.Attribute):  # the checker refuses this already
            raise EvalFailure("only the available functions and allowed methods can be called")
        receiver = self.eval(func.value)
        name = func.attr
        method = find_method(type(receiver), name)
        if method is None:
            raise EvalFailure(f"a {type(receiver).__name__} value has no method '{name}'")
        args, kwargs = self.elements(node.args), self.keywords(node)
        if (receiver.__class__, name) not in _CONSTANT_TIME:
            self.charge(receiver)
        self.charge(*args, *kwargs.values())
        before = len(receiver) if receiver.__class__ in _GROWABLE else -1
        result = method(receiver, *args, **kwargs)
        if before >= 0 and len(receiver) > before:  # append/extend/update grew the receiver
            check_collection_len(len(receiver))
        return result if name in _NO_ALLOCATION else self.account(result)

    def call_function(self, name: str, node: ast.Call) -> Any:
        if name in CONTEXT_FUNCTIONS:
            return self.call_context_function(name, node)
        function = FUNCTIONS.get(name)
        if function is None:  # the checker refuses this already; never fall back to anything
            raise EvalFailure(f"'{name}' is not an available function")
        args, kwargs = self.elements(node.args), self.keywords(node)
        if name not in _CONSTANT_TIME_FUNCTIONS:
            self.charge(*args, *kwargs.values())
        try:
            result = function(*args, **kwargs)
        except TypeError as exc:  # wrong arguments: name the function as the author wrote it
            raise EvalFailure(str(exc).replace(f"{function.__name__}()", f"{name}()")) from None
        return self.account(result)

    def call_context_function(self, name: str, node: ast.Call) -> Any:
        """`defined("x")`: is variable x set? `value_of("x", default=None)`: its value, or the default."""
        args, kwargs = self.elements(node.args), self.keywords(node)
        if not args or not isinstance(args[0], str) or len(args) > (1 if name == "defined" else 2):
            raise EvalFailure(f"{name}() takes a variable name as text" + ("" if name == "defined" else
                                                                           " and an optional default"))
        default = args[1] if len(args) > 1 else kwargs.get("default")
        try:
            value = self.load(args[0])
        except EvalFailure:
            return False if name == "defined" else default
        return True if name == "defined" else value

    def keywords(self, node: ast.Call) -> dict[str, Any]:
        return {keyword.arg or "": self.eval(keyword.value) for keyword in node.keywords}

    # -- comprehensions: eager and bounded; a generator expression yields a list --

    def comprehend(self, generators: list[ast.comprehension], emit: Callable[[], None]) -> None:
        """Run the `for` clauses, calling `emit` for each combination that passes the `if`s.

        The names a comprehension binds are restored afterwards: they never leak into data.
        """
        names = {node.id for generator in generators for node in ast.walk(generator.target)
                 if isinstance(node, ast.Name)}
        if self.script:  # take the script's copy of a shadowed container now, so it is copied once
            for name in names:
                if name not in self.scope and name in self.data:
                    self.load(name)
        saved = {name: self.scope.get(name, _MISSING) for name in names}
        try:
            self.run_clause(generators, 0, emit)
        finally:
            for name, value in saved.items():
                if value is _MISSING:
                    self.scope.pop(name, None)
                else:
                    self.scope[name] = value

    def run_clause(self, generators: list[ast.comprehension], position: int,
                   emit: Callable[[], None]) -> None:
        generator = generators[position]
        last = position + 1 == len(generators)
        limit = self.limits.max_iterations
        for count, item in enumerate(self.eval(generator.iter), 1):
            if count > limit:
                raise LimitExceeded(f"comprehension exceeded {limit} iterations")
            self.assign(generator.target, item)
            if all(self.eval(condition) for condition in generator.ifs):
                if last:
                    emit()
                else:
                    self.run_clause(generators, position + 1, emit)

    def list_comprehension(self, node: ast.ListComp | ast.GeneratorExp) -> Any:
        result: list[Any] = []
        self.comprehend(node.generators, lambda: result.append(self.eval(node.elt)))
        return self.account(result)

    def set_comprehension(self, node: ast.SetComp) -> Any:
        result: set[Any] = set()
        self.comprehend(node.generators, lambda: result.add(self.eval(node.elt)))
        return self.account(result)

    def dict_comprehension(self, node: ast.DictComp) -> Any:
        result: dict[Any, Any] = {}

        def emit() -> None:
            result[self.eval(node.key)] = self.eval(node.value)

        self.comprehend(node.generators, emit)
        return self.account(result)


_Handler = Callable[[Interpreter, Any], Any]


class Dispatch(dict[type[ast.AST], Any]):
    """Node type -> handler; a type without one (the checker lets none through) fails cleanly."""

    def __missing__(self, kind: type[ast.AST]) -> Any:
        raise EvalFailure(f"{kind.__name__} is not supported")


_EXPRESSIONS: dict[type[ast.AST], _Handler] = Dispatch({
    ast.Constant: Interpreter.constant,
    ast.Name: Interpreter.name,
    ast.BinOp: Interpreter.binary,
    ast.UnaryOp: Interpreter.unary,
    ast.BoolOp: Interpreter.boolean,
    ast.Compare: Interpreter.compare,
    ast.IfExp: Interpreter.conditional,
    ast.Subscript: Interpreter.subscript,
    ast.Attribute: Interpreter.attribute,
    ast.List: Interpreter.list_display,
    ast.Tuple: Interpreter.tuple_display,
    ast.Set: Interpreter.set_display,
    ast.Dict: Interpreter.dict_display,
    ast.JoinedStr: Interpreter.joined_string,
    ast.FormattedValue: Interpreter.formatted_value,
    ast.Call: Interpreter.call,
    ast.ListComp: Interpreter.list_comprehension,
    ast.GeneratorExp: Interpreter.list_comprehension,
    ast.SetComp: Interpreter.set_comprehension,
    ast.DictComp: Interpreter.dict_comprehension,
    ast.Slice: Interpreter.index,  # inside a tuple: a[1:2, 3]
})
