"""Static rules of the BPMN 2.0 specification, checked on every upload by `bpmn.validate`.

Each module holds one family of rules (ids, attributes, flows, gateways, events, data, references,
collaboration, loops, timers); each rule is registered with the id of the specification constraint it checks
(`EXT.023`, `REF.001`, ...) and yields findings located at an element. `check` turns them into
`Problem`s whose code is `bpmn_rule_<id>` and whose message starts with the rule id.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bpmn.constraints import (
    attributes,
    collaboration,
    compensation,
    data,
    events,
    flows,
    gateways,
    loop_settings,
    loops,
    references,
    timers,
)
from bpmn.constraints.model import Model, is_executable
from bpmn.constraints.registry import RULES, Rule, run_rules
from bpmn.types import Problem

# Importing the rule modules registers their rules; listed so that linters see them used.
FAMILIES = (attributes, collaboration, compensation, data, events, flows, gateways, loop_settings, loops, references,
            timers)
CODE_PREFIX = "bpmn_rule_"
MAX_FINDINGS_PER_RULE = 20  # per document: past this, more of the same mistake helps nobody


def check(trees: Iterable[tuple[str, Any]]) -> list[Problem]:
    """Every broken rule in the documents (file name, lxml tree), as problems."""
    problems: list[Problem] = []
    for name, tree in trees:
        model = Model.of(name, tree)
        counts: dict[str, int] = {}
        for registered, finding in run_rules(model):
            if not is_executable(finding.element):
                continue  # documentation-only pools are not checked (as for the rest of validation)
            counts[registered.rule_id] = counts.get(registered.rule_id, 0) + 1
            if counts[registered.rule_id] > MAX_FINDINGS_PER_RULE:
                continue
            problems.append(Problem(registered.code, f"{registered.rule_id}: {finding.message}",
                                    element_id=_element_id(finding.element),
                                    line=finding.element.sourceline, file=name))
    return problems


def _element_id(element: Any) -> str | None:
    for candidate in (element, *element.iterancestors()):
        if candidate.get("id"):
            return str(candidate.get("id"))
    return None


__all__ = ["CODE_PREFIX", "FAMILIES", "RULES", "Rule", "check"]
