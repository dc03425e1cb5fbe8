"""Executable processes need formal expressions and bound messages (BPMN 2.0.2, 8.3.6 Expressions,
10.5.5 Conditional and Message event definitions), as far as Patchbay's two profiles enforce it.

The specification: in an executable process every expression is a formal expression
(`xsi:type="tFormalExpression"`; an untyped `tExpression` is natural language, EXT.012), a conditional
trigger has a formal condition (EXT.123), and a message event definition names the operation it
belongs to (EXT.128).

Patchbay's default profile relaxes two of these by design (docs/writing-models.md, "Profiles"):
- an untyped expression is read as a formal one in the process's expression language (an untyped
  timer text: an ISO 8601 literal or an expression), because most modelers omit the type; so EXT.012
  and EXT.123 reject only an untyped text that cannot be read that way, which is natural language,
  and an untyped text at a site Patchbay never evaluates (nothing reads it as a formal expression);
- in a model saved in an engine's dialect (it declares the SpiffArena, Camunda 7 or Camunda 8
  extension namespace), message events are routed by message name (`messageRef`) and correlation, as
  that engine routes them, so an `operationRef` is not required (EXT.128). A model in no engine's
  dialect claims only BPMN's own execution semantics, which bind a message event to an operation, so
  there EXT.128 holds as the specification states it.
The strict profile enforces the specification's reading: every such text typed, every message bound.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

from bpmn.constraints.model import XSI_TYPE, Model, local_ref, tag
from bpmn.constraints.registry import Finding, at, rule
from bpmn.dialects import camunda7, zeebe
from bpmn.parser import SPIFF_NS
from bpmn.timers import TimerKind, check_timer_text

# (element, its parent or '*') that hold an expression, per BPMNspector's reading of EXT.012.
_SITES = {
    "completionCondition": ("adHocSubProcess", "multiInstanceLoopCharacteristics"),
    "from": ("assignment",), "to": ("assignment",),
    "activationCondition": ("complexGateway",),
    "loopCardinality": ("multiInstanceLoopCharacteristics",),
    "conditionExpression": ("sequenceFlow",),
    "loopCondition": ("standardLoopCharacteristics",),
}
# Expression sites Patchbay never evaluates: a data association's assignment is not run (the association
# copies its source), and an ad-hoc sub-process with a completionCondition is not supported (validation
# rejects both as unsupported_element). The default reading "an untyped text means what the formal one
# would" needs a language that reads the text; here none does, so an untyped text stays what the
# specification calls it, natural language. Move a site out of here when Patchbay starts to run it.
_NOT_EVALUATED = {"from": ("assignment",), "to": ("assignment",), "completionCondition": ("adHocSubProcess",)}
_TIMERS: dict[str, TimerKind] = {"timeDate": "date", "timeCycle": "cycle", "timeDuration": "duration"}
# The dialects whose engine routes a message event by its message's name, with no operation.
_BY_NAME_DIALECTS = (SPIFF_NS, camunda7.NS, zeebe.NS)
_MARKERS = ("${", "#{", "=")  # modeler dialects (JUEL, FEEL) that `bpmn.dialects` translates first


def _is_formal(element: Any) -> bool:
    return local_ref(element.get(XSI_TYPE)) == "tFormalExpression"


def _owner(element: Any) -> str:
    for candidate in element.iterancestors():
        if candidate.get("id"):
            return str(candidate.get("id"))
    return "the model"


def _parses(text: str) -> bool:
    """Whether the text is an expression at all (whether Patchbay's restricted evaluator then allows
    everything in it is `bpmn.expressions`' business, reported as invalid_expression)."""
    try:
        ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    return True


def _unreadable(element: Any) -> bool:
    """An untyped text that cannot be read as a formal expression: natural language.

    Read as Patchbay reads untyped texts: an expression, or for a timer also an ISO 8601 literal.
    """
    text = (element.text or "").strip()
    if not text or text.startswith(_MARKERS):
        return False  # empty bodies are EXT.013's; dialect texts are translated before they run
    kind = _TIMERS.get(tag(element))
    if kind is not None and not check_timer_text(text, kind):
        return False
    return not _parses(text)


def _untyped(model: Model, element: Any) -> bool:
    """Whether the element breaks the typed-expression rule under the model's profile.

    Only executable processes are bound by it; `constraints.check` drops findings in the others.
    """
    if _is_formal(element):
        return False
    return model.strict or _unreadable(element) or not _evaluated(element)


def _evaluated(element: Any) -> bool:
    """Whether Patchbay reads the text at this site as an expression (see `_NOT_EVALUATED`)."""
    return tag(element.getparent()) not in _NOT_EVALUATED.get(tag(element), ())


def _why(model: Model, element: Any) -> str:
    if model.strict:
        return "the strict profile requires xsi:type=\"tFormalExpression\""
    if not _evaluated(element):
        return ("it is untyped, which the specification reads as natural language, and Patchbay does not "
                "evaluate this expression, so the default profile cannot read it as a formal one")
    return "it is neither typed as a formal expression nor readable as one (natural language)"


@rule("EXT.012", "expressions of an executable process are formal expressions")
def formal_expressions(model: Model) -> Iterator[Finding]:
    for name, parents in _SITES.items():
        for element in model.all(name):
            if tag(element.getparent()) in parents and _untyped(model, element):
                yield at(element, f"the {name} of {_owner(element)} is not a formal expression: "
                                  f"{_why(model, element)}")
    for element in model.all(*_TIMERS):
        if tag(element.getparent()) == "timerEventDefinition" and _untyped(model, element):
            yield at(element, f"the {tag(element)} of {_owner(element)} is not a formal expression: "
                              f"{_why(model, element)}")


@rule("EXT.123", "a conditional trigger of an executable process has a formal condition")
def formal_conditions(model: Model) -> Iterator[Finding]:
    for definition in model.all("conditionalEventDefinition"):
        for condition in (c for c in definition if tag(c) == "condition"):
            if _untyped(model, condition):
                yield at(condition, f"the condition of {_owner(condition)} is not a formal expression: "
                                    f"{_why(model, condition)}")


@rule("EXT.128", "a message event definition of an executable process names its operation (operationRef)")
def bound_messages(model: Model) -> Iterator[Finding]:
    if not model.strict and _routes_by_name(model):
        return
    for definition in model.all("messageEventDefinition"):
        if not any(tag(c) == "operationRef" for c in definition):
            event = definition.getparent()
            yield at(definition, f"the message event {event.get('id') if event is not None else ''} names no "
                                 f"operation (operationRef); {_unbound_why(model)}")


def _routes_by_name(model: Model) -> bool:
    """A model in an engine's dialect, where that engine routes messages by name (see the module doc)."""
    return any(model.declares(namespace) for namespace in _BY_NAME_DIALECTS)


def _unbound_why(model: Model) -> str:
    if model.strict:
        return "the strict profile requires it"
    return ("a model in no engine's dialect is read as plain BPMN, which binds a message event of an "
            "executable process to an operation; add an operationRef, or save the model from SpiffArena's or "
            "Camunda's modeler, whose message events Patchbay routes by message name")
