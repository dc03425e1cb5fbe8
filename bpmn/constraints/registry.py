"""The registry of static BPMN rules and the `Finding` they yield.

A rule is a function over a `Model` that yields findings; `rule("EXT.023", "...")` registers it under
the rule id of the BPMN 2.0 constraint it checks (the ids of betsy's catalogue of the specification's
static constraints). A rule module needs no dispatch code: importing it registers its rules.

`on_schema_errors` says the rule judges only what it reads directly (ids, attribute values, how many
of an element there are), so it still runs on a document the XSD rejects, and names the BPMN rule
behind a schema error that would otherwise only say "not expected" or "not a valid xs:ID". A rule
that Patchbay relaxes by design reads `model.strict` itself (docs/writing-models.md, "Profiles").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from bpmn.constraints.model import Model


@dataclass(frozen=True)
class Finding:
    """One broken rule at one element: `message` says what is wrong there."""

    element: Any
    message: str


RuleFunction = Callable[[Model], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    """A registered rule: id (e.g. `EXT.023`), one-line summary and the check itself."""

    rule_id: str
    summary: str
    check: RuleFunction
    on_schema_errors: bool = False

    @property
    def code(self) -> str:
        """The problem code: `bpmn_rule_ext023`."""
        return "bpmn_rule_" + self.rule_id.replace(".", "").replace("-", "_").lower()


RULES: list[Rule] = []


def rule(rule_id: str, summary: str, *, on_schema_errors: bool = False) -> Callable[[RuleFunction], RuleFunction]:
    """Register a rule function under `rule_id` (see the module docstring for the flag)."""
    def register(check: RuleFunction) -> RuleFunction:
        RULES.append(Rule(rule_id, summary, check, on_schema_errors=on_schema_errors))
        return check
    return register


def applicable(model: Model, *, schema_valid: bool) -> list[Rule]:
    """The rules that run on this document, by whether the XSD accepted it."""
    return [r for r in RULES if schema_valid or r.on_schema_errors]


def run_rules(model: Model, rules: list[Rule] | None = None) -> Iterator[tuple[Rule, Finding | Exception]]:
    """Every finding of the given (default: all applicable) rules on one document.

    A rule that raises yields the exception instead of findings, so that one rule's bug on an odd
    (untrusted) document costs that rule only, not the whole validation report.
    """
    for registered in rules if rules is not None else applicable(model, schema_valid=True):
        try:
            findings = list(registered.check(model))
        except Exception as exc:  # reported by the caller as a validator problem of this document
            yield registered, exc
            continue
        for finding in findings:
            yield registered, finding


def at(element: Any, message: str) -> Finding:
    """A finding at `element`."""
    return Finding(element, message)
