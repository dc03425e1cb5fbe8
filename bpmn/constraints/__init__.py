"""Static rules of the BPMN 2.0 specification, checked on every upload by `bpmn.validate`.

Each module holds one family of rules (ids and attributes, flows, gateways, events, data, associations,
io sets, services, structure, levels, references, collaboration, loops, timers, formal expressions);
each rule is registered with the id of the specification constraint it checks
(`EXT.023`, `REF.001`, ...) and yields findings located at an element. `check` turns them into
`Problem`s whose code is `bpmn_rule_<id>` and whose message starts with the rule id.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from bpmn.constraints import (
    associations,
    attributes,
    collaboration,
    compensation,
    data,
    events,
    flows,
    formal,
    gateways,
    io_sets,
    levels,
    loop_settings,
    loops,
    references,
    services,
    structure,
    timers,
)
from bpmn.constraints.model import PROFILES, Model, is_executable
from bpmn.constraints.registry import RULES, Finding, Rule, applicable, run_rules
from bpmn.types import Problem

# Importing the rule modules registers their rules; listed so that linters see them used.
FAMILIES = (associations, attributes, collaboration, compensation, data, events, flows, formal, gateways, io_sets,
            levels, loop_settings, loops, references, services, structure, timers)
CODE_PREFIX = "bpmn_rule_"
MAX_FINDINGS_PER_RULE = 20  # per document: past this, more of the same mistake helps nobody


def check(trees: Iterable[tuple[str, Any]], *, profile: str = "default",
          schema_invalid: Collection[str] = ()) -> list[Problem]:
    """Every broken rule in the documents (file name, lxml tree), as problems.

    `profile`: "default" or "strict" (which adds the rules Patchbay relaxes by design).
    `schema_invalid`: names of files the XSD rejected; only rules marked `on_schema_errors` run there.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown validation profile {profile!r}; expected one of {', '.join(PROFILES)}")
    problems: list[Problem] = []
    for name, tree in trees:
        model = Model.of(name, tree, profile=profile)
        rules = applicable(model, schema_valid=name not in schema_invalid)
        counts: dict[str, int] = {}
        for registered, finding in run_rules(model, rules):
            if isinstance(finding, Exception):
                problems.append(_crashed(registered, finding, name))
                continue
            if not is_executable(finding.element):
                continue  # documentation-only pools are not checked (as for the rest of validation)
            counts[registered.rule_id] = counts.get(registered.rule_id, 0) + 1
            if counts[registered.rule_id] <= MAX_FINDINGS_PER_RULE:
                problems.append(_problem(registered, finding, name))
    return problems


def _problem(registered: Rule, finding: Finding, name: str) -> Problem:
    return Problem(registered.code, f"{registered.rule_id}: {finding.message}",
                   element_id=_element_id(finding.element), line=finding.element.sourceline, file=name)


def _crashed(registered: Rule, exc: Exception, name: str) -> Problem:
    """A rule that failed on this document: the model cannot be judged by it, so it is not accepted."""
    return Problem("validator_error", f"rule {registered.rule_id} could not check this model "
                   f"({type(exc).__name__}: {exc}); this is a bug in Patchbay, please report it", file=name)


def _element_id(element: Any) -> str | None:
    for candidate in (element, *element.iterancestors()):
        if candidate.get("id"):
            return str(candidate.get("id"))
    return None


__all__ = ["CODE_PREFIX", "FAMILIES", "PROFILES", "RULES", "Rule", "check"]
