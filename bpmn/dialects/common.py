"""What the Camunda 7 and Camunda 8 translations share: problems, and the spiffworkflow extensions they write."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from bpmn.dialects.expressions import UnsupportedExpression, feel_to_expression, is_feel, is_juel, juel_to_expression
from bpmn.expressions import check_expression
from bpmn.types import Problem

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
CODE = "unsupported_dialect_feature"


@dataclass
class Findings:
    """The problems found while translating one file."""

    file: str | None
    problems: list[Problem] = field(default_factory=list)

    def unsupported(self, element: Any, message: str) -> None:
        """Record that `element` (or the activity holding it) uses something Patchbay cannot run."""
        owner = element
        while owner is not None and not owner.get("id"):
            owner = owner.getparent()
        self.problems.append(Problem(CODE, message, element_id=owner.get("id") if owner is not None else None,
                                     line=element.sourceline, file=self.file))


def bpmn(name: str) -> str:
    """The qualified tag of a BPMN element."""
    return f"{{{BPMN_NS}}}{name}"


def spiff(name: str) -> str:
    """The qualified tag of a spiffworkflow extension element."""
    return f"{{{SPIFF_NS}}}{name}"


def extension_elements(element: Any) -> Any:
    """The element's `bpmn:extensionElements`, created (first child after documentation) if missing."""
    found = element.find(bpmn("extensionElements"))
    if found is not None:
        return found
    created = etree.Element(bpmn("extensionElements"))
    docs = element.findall(bpmn("documentation"))
    if docs:
        docs[-1].addnext(created)
    else:
        element.insert(0, created)
    return created


def translate_text(text: str, element: Any, findings: Findings,
                   translate: Callable[[str], str] | None = None) -> str | None:
    """Translate a JUEL/FEEL text (None, with a problem recorded, if it is outside the subset)."""
    try:
        if translate is not None:
            translated = translate(text)
        elif is_juel(text):
            translated = juel_to_expression(text)
        elif is_feel(text):
            translated = feel_to_expression(text)
        else:
            return text
        # A FEEL name may hold spaces (`Current Vacation Status`): the token-wise translation then yields
        # no valid expression. Say so here, at the element, rather than as a syntax error later.
        problems = check_expression(translated) if is_feel(text) else []
        if problems:
            raise UnsupportedExpression(f"FEEL {text.strip()[:60]!r} does not translate (FEEL names with "
                                        f"spaces are not supported): {problems[0][0]}")
        return translated
    except UnsupportedExpression as exc:
        findings.unsupported(element, f"{exc} (translate it into Patchbay's expression language)")
        return None


def add_operator(task: Any, operation: str, parameters: dict[str, str], result_variable: str | None) -> None:
    """Make a service task call `operation` with `parameters` (name -> expression in our language)."""
    operator = etree.SubElement(extension_elements(task), spiff("serviceTaskOperator"), id=operation)
    if result_variable:
        operator.set("resultVariable", result_variable)
    holder = etree.SubElement(operator, spiff("parameters"))
    for name, expression in parameters.items():
        etree.SubElement(holder, spiff("parameter"), id=name, type="any", value=expression)


def add_scripts(task: Any, inputs: dict[str, str], outputs: dict[str, str]) -> None:
    """Input mappings become a spiffworkflow pre-script, output mappings a post-script."""
    for tag, mappings in (("preScript", inputs), ("postScript", outputs)):
        if mappings:
            script = etree.SubElement(extension_elements(task), spiff(tag))
            script.text = "\n".join(f"{name} = {expression}" for name, expression in mappings.items())


def add_properties(task: Any, properties: dict[str, str]) -> None:
    """spiffworkflow properties (they reach the worklist as `WorkItemRequest.properties`)."""
    if not properties:
        return
    holder = etree.SubElement(extension_elements(task), spiff("properties"))
    for name, value in properties.items():
        etree.SubElement(holder, spiff("property"), name=name, value=value)


def translate_conditions(root: Any, findings: Findings, accepts: Callable[[str], bool],
                         translate: Callable[[str], str]) -> None:
    """Translate every sequence flow condition written in the dialect."""
    for condition in root.iter(bpmn("conditionExpression")):
        text = condition.text or ""
        if condition.get("language") not in (None, "", "python"):
            findings.unsupported(condition, f"conditions in {condition.get('language')} are not supported")
        elif accepts(text):
            translated = translate_text(text, condition, findings, translate)
            if translated is not None:
                condition.text = translated
