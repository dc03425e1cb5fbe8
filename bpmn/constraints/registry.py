"""The registry of static BPMN rules and the `Finding` they yield.

A rule is a function over a `Model` that yields findings; `rule("EXT.023", "...")` registers it under
the rule id of the BPMN 2.0 constraint it checks (the ids of betsy's catalogue of the specification's
static constraints). A rule module needs no dispatch code: importing it registers its rules.
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

    @property
    def code(self) -> str:
        """The problem code: `bpmn_rule_ext023`."""
        return "bpmn_rule_" + self.rule_id.replace(".", "").replace("-", "_").lower()


RULES: list[Rule] = []


def rule(rule_id: str, summary: str) -> Callable[[RuleFunction], RuleFunction]:
    """Register a rule function under `rule_id`."""
    def register(check: RuleFunction) -> RuleFunction:
        RULES.append(Rule(rule_id, summary, check))
        return check
    return register


def run_rules(model: Model) -> Iterator[tuple[Rule, Finding]]:
    """Every finding of every registered rule on one document."""
    for registered in RULES:
        for finding in registered.check(model):
            yield registered, finding


def at(element: Any, message: str) -> Finding:
    """A finding at `element`."""
    return Finding(element, message)
