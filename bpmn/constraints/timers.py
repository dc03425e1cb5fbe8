"""Timer rules: what a timer's timeDate, timeCycle and timeDuration must give (BPMN 2.0.2, 10.5.5).

The specification says the value of `timeDate` MUST be an ISO 8601 date-time (EXT.132), of
`timeCycle` an ISO 8601 repeating interval (EXT.133) and of `timeDuration` an ISO 8601 duration
(EXT.134). Statically that can be decided only for a text that is a literal; which texts are literals
is Patchbay's documented reading (docs/writing-models.md, "Timers"):

- a *formal* expression (`xsi:type="tFormalExpression"`, what bpmn-js, Camunda Modeler, Signavio and
  Yaoqiang write) is read as Camunda 7/8, Flowable and jBPM read it: a literal unless marked as an
  expression (`${...}`, `#{...}`, `=...`) or quoted;
- except in a SpiffArena model (it declares the spiffworkflow namespace), where, as in SpiffWorkflow,
  every timer text is an expression of the model's language;
- an untyped text (`tExpression`, natural language for the specification) keeps Patchbay's lenient
  reading: an ISO 8601 literal, or else an expression whose value is checked when the timer starts.

So only formal, unmarked timer texts outside SpiffArena models are checked here; texts that merely
look wrong ("PT4X") are already refused by `bpmn.timers.check_timer_text` for every model.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bpmn.constraints.model import XSI_TYPE, Model, children, local_ref, tag
from bpmn.constraints.registry import Finding, at, rule
from bpmn.parser import SPIFF_NS
from bpmn.timers import TimerKind, is_iso_cycle, is_iso_datetime, is_iso_duration

_MARKERS = (("${", "}"), ("#{", "}"), ("=", ""))  # JUEL (Camunda 7), JUEL deferred, FEEL (Camunda 8)
_QUOTES = ("'", '"')
_WHAT = {
    "date": "an ISO 8601 date-time with an offset such as 2026-12-01T09:00:00Z",
    "cycle": "an ISO 8601 repeating interval such as R3/PT10M",
    "duration": "an ISO 8601 duration such as PT4H",
}


def _is_formal(element: Any) -> bool:
    """`xsi:type="tFormalExpression"` (any prefix, or none)."""
    return local_ref(element.get(XSI_TYPE)) == "tFormalExpression"


def _is_marked(text: str) -> bool:
    """Whether the text says it is an expression (JUEL `${...}`/`#{...}`, FEEL `=...`)."""
    return any(text.startswith(start) and text.endswith(end) for start, end in _MARKERS)


def _literal_value(text: str) -> str:
    """The literal a formal timer text holds: the text itself, or what its quotes enclose."""
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] == text[0]:
        return text[1:-1].strip()
    return text


def _uses_spiff_expressions(model: Model) -> bool:
    """A SpiffArena model: its timer texts are expressions (SpiffWorkflow evaluates every one)."""
    return model.declares(SPIFF_NS)


def _broken_literals(model: Model, name: str, kind: TimerKind) -> Iterator[Finding]:
    if _uses_spiff_expressions(model):
        return
    valid = {"date": is_iso_datetime, "cycle": is_iso_cycle, "duration": is_iso_duration}[kind]
    for element in model.all(name):
        text = (element.text or "").strip()
        if not _is_formal(element) or not text or _is_marked(text) or valid(_literal_value(text)):
            continue
        event = element.getparent().getparent()
        yield at(element, f"the {name} of the timer event {event.get('id') if event is not None else '?'} is "
                          f"'{text}', which is not {_WHAT[kind]}; a formal expression is a literal unless "
                          "marked as an expression (${...} or =...)")


@rule("EXT.132", "a timer's timeDate gives an ISO 8601 date-time")
def time_dates(model: Model) -> Iterator[Finding]:
    yield from _broken_literals(model, "timeDate", "date")


@rule("EXT.133", "a timer's timeCycle gives an ISO 8601 repeating interval")
def time_cycles(model: Model) -> Iterator[Finding]:
    yield from _broken_literals(model, "timeCycle", "cycle")


@rule("EXT.134", "a timer's timeDuration gives an ISO 8601 duration")
def time_durations(model: Model) -> Iterator[Finding]:
    yield from _broken_literals(model, "timeDuration", "duration")



@rule("EXT.131", "a timer has at most one of timeDate, timeCycle and timeDuration", on_schema_errors=True)
def one_timer_value(model: Model) -> Iterator[Finding]:
    for definition in model.all("timerEventDefinition"):
        given = [tag(c) for c in children(definition, "timeDate", "timeCycle", "timeDuration")]
        if len(given) > 1:
            event = definition.getparent()
            yield at(definition, f"the timer of {event.get('id') if event is not None else 'an event'} has "
                                 f"{' and '.join(given)}; give exactly one of them")
