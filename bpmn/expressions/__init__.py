"""The restricted expression and script language of uploaded models.

Uploaded BPMN is untrusted, so conditions, scripts, timers, parameters, multi-instance collections
and correlation keys never reach Python's `eval`/`exec`. Instead:

1. `ast.parse` the text (cached), then a static checker (`checker.py`) walks an allow-list of node
   types and refuses everything else (imports, `_`-names, attribute escapes, `str.format`, def,
   lambda, class, while, try, with...) before anything runs;
2. an interpreter (`interpreter.py`, `scripts.py`) walks the checked tree itself, counting steps and
   checking sizes (`limits.py`, `operators.py`, `values.py`), and can call only the curated
   `FUNCTIONS` and the allowed methods of str/list/dict/set/tuple/date/datetime/timedelta
   (`methods.py`), looked up by the receiver's type.

Names resolve to instance data, then to `extra`; a function name resolves to the curated function
only where it is called, so data may hold variables called `date` or `max`. Expressions cannot
change data (mutating methods are refused); a script's changes are kept apart (`changes.py`) and
committed on success.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from bpmn.errors import ExpressionError
from bpmn.expressions import changes
from bpmn.expressions.checker import Mode, Problem, compile_checked
from bpmn.expressions.functions import FUNCTIONS
from bpmn.expressions.interpreter import Interpreter
from bpmn.expressions.limits import (
    DEFAULT_LIMITS,
    Limits,
    describe_failure,
    reset_current_limits,
    set_current_limits,
)
from bpmn.expressions.scripts import ScriptInterpreter
from bpmn.expressions.values import check_data_size

__all__ = ["DEFAULT_LIMITS", "FUNCTIONS", "Limits", "check_expression", "check_script", "evaluate", "execute"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_T = TypeVar("_T")
_PROBLEMS_SHOWN = 3  # in the message of the ExpressionError; check_* return them all


def check_expression(text: str, *, limits: Limits = DEFAULT_LIMITS) -> list[tuple[str, int | None]]:
    """Static check only (nothing runs): list of (message, line) problems; empty = accepted."""
    if not isinstance(text, str):
        return [(f"expected text, got {type(text).__name__}", None)]
    return list(compile_checked(text, "eval", limits).problems)


def check_script(text: str, *, limits: Limits = DEFAULT_LIMITS) -> list[tuple[str, int | None]]:
    """Static check of a script (nothing runs): list of (message, line) problems; empty = accepted."""
    if not isinstance(text, str):
        return [(f"expected text, got {type(text).__name__}", None)]
    return list(compile_checked(text, "exec", limits).problems)


def evaluate(text: str, data: Mapping[str, Any], *, limits: Limits = DEFAULT_LIMITS,
             element_id: str | None = None, extra: Mapping[str, Any] | None = None) -> Any:
    """Evaluate one expression against the instance data.

    Raises ExpressionError (with element_id and line) on rejection or runtime error. `data` is
    only read; `extra` adds read-only names (e.g. data objects) looked up after `data`.
    """
    tree = _checked(text, "eval", limits, element_id)
    if not isinstance(tree, ast.Expression):  # guaranteed by mode="eval"; narrows the type
        raise ExpressionError("not an expression", element_id=element_id)
    interpreter = Interpreter(scope={}, data=data, extra=extra or _EMPTY, limits=limits,
                              element_id=element_id, script=False)

    def run() -> Any:
        result = interpreter.eval(tree.body)
        check_data_size(result, limits.max_data_size, "result")
        return result

    return _with_limits(run, limits, element_id)


def execute(script: str, data: dict[str, Any], *, limits: Limits = DEFAULT_LIMITS,
            element_id: str | None = None, extra: Mapping[str, Any] | None = None) -> None:
    """Run a script; top-level assignments write into `data` in place.

    Atomic: the script's changes (and private copies of the containers it read) are kept apart
    and committed only when every statement succeeded, so on any error `data` is left exactly as
    it was. Data the script does not touch is not copied, and is measured only when the script
    made the data larger (`changes.check_size`). Raises ExpressionError like `evaluate`.
    """
    tree = _checked(script, "exec", limits, element_id)
    if not isinstance(tree, ast.Module):  # guaranteed by mode="exec"; narrows the type
        raise ExpressionError("not a script", element_id=element_id)

    def run() -> dict[str, Any]:
        changed: dict[str, Any] = {}
        ScriptInterpreter(scope=changed, data=data, extra=extra or _EMPTY, limits=limits,
                          element_id=element_id, script=True).run(tree.body)
        changes.check_size(data, changed, limits.max_data_size)
        return changed

    changes.commit(data, _with_limits(run, limits, element_id))


def _checked(text: str, mode: Mode, limits: Limits, element_id: str | None) -> ast.AST:
    """The checked tree of `text`, or an ExpressionError naming the first problem and its line."""
    if not isinstance(text, str):
        raise ExpressionError(f"expected text, got {type(text).__name__}", element_id=element_id)
    compiled = compile_checked(text, mode, limits)
    if compiled.tree is not None:
        return compiled.tree
    problems: tuple[Problem, ...] = compiled.problems or (("rejected", None),)
    message = "; ".join(text for text, _ in problems[:_PROBLEMS_SHOWN])
    if len(problems) > _PROBLEMS_SHOWN:
        message = f"{message} (and {len(problems) - _PROBLEMS_SHOWN} more problem(s))"
    raise ExpressionError(message, element_id=element_id, line=problems[0][1])


def _with_limits(run: Callable[[], _T], limits: Limits, element_id: str | None) -> _T:
    """Call `run` with `limits` current for the curated functions; translate what escapes the interpreter."""
    token = set_current_limits(limits)
    try:
        return run()
    except ExpressionError:
        raise
    except Exception as exc:  # raised outside any node (copying or measuring the data)
        raise ExpressionError(describe_failure(exc), element_id=element_id) from None
    finally:
        reset_current_limits(token)
