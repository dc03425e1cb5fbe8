"""Camunda 8 (Camunda Modeler for Zeebe, `zeebe:` namespace) -> what Patchbay runs.

Mapped: `zeebe:taskDefinition type` of service tasks is the operation (`zeebe:ioMapping` inputs are
its parameters, outputs a post-script), `zeebe:ioMapping` on other activities (pre-/post-scripts),
`zeebe:assignmentDefinition` (assignee, candidateGroups, candidateUsers -> spiffworkflow properties,
which the worklist reads), `zeebe:calledElement processId`, and `=` FEEL conditions in the simple subset.
Reported: job workers on other task kinds, FEEL scripts (`zeebe:script`), FEEL outside the subset.
"""

from __future__ import annotations

from typing import Any

from bpmn.dialects.common import (
    Findings,
    add_operator,
    add_properties,
    add_scripts,
    bpmn,
    translate_conditions,
    translate_text,
)
from bpmn.dialects.expressions import feel_to_expression, is_feel

NS = "http://camunda.org/schema/zeebe/1.0"
_ACTIVITIES = ("serviceTask", "sendTask", "businessRuleTask", "scriptTask", "userTask", "task", "manualTask",
               "receiveTask", "callActivity", "subProcess")
_ASSIGNMENT = ("assignee", "candidateGroups", "candidateUsers")


def _zeebe(name: str) -> str:
    return f"{{{NS}}}{name}"


def translate(root: Any, findings: Findings) -> None:
    """Translate one document's Camunda 8 extensions in place."""
    translate_conditions(root, findings, is_feel, feel_to_expression)
    for kind in _ACTIVITIES:
        for activity in root.iter(bpmn(kind)):
            _translate_activity(activity, kind, findings)


def _extension(activity: Any, name: str) -> Any:
    return activity.find(f"{bpmn('extensionElements')}/{_zeebe(name)}")


def _translate_activity(activity: Any, kind: str, findings: Findings) -> None:
    inputs, outputs = _io_mapping(activity, findings)
    definition = _extension(activity, "taskDefinition")
    if definition is not None and kind == "serviceTask":
        operation = definition.get("type") or ""
        if is_feel(operation) or not operation:
            findings.unsupported(definition, "the job type must be a fixed text, not a FEEL expression")
            return
        add_operator(activity, operation, inputs, f"{activity.get('id')}_result")
        add_scripts(activity, {}, outputs)
        return
    if definition is not None:
        findings.unsupported(definition, f"job workers on a bpmn:{kind} are not supported; use a service task")
    if _extension(activity, "script") is not None:
        findings.unsupported(activity, "FEEL scripts (zeebe:script) are not supported; write the script in "
                                       "Patchbay's expression language")
    if kind == "scriptTask" and (activity.get("scriptFormat") or "python").lower() not in ("python", "text/x-python"):
        findings.unsupported(activity, f"scripts in {activity.get('scriptFormat')} are not supported")
    _assignment(activity, findings)
    called = _extension(activity, "calledElement")
    if called is not None and called.get("processId"):
        activity.set("calledElement", called.get("processId"))
    add_scripts(activity, inputs, outputs)


def _assignment(activity: Any, findings: Findings) -> None:
    assignment = _extension(activity, "assignmentDefinition")
    if assignment is None:
        return
    properties = {}
    for name in _ASSIGNMENT:
        value = assignment.get(name)
        if value is None:
            continue
        if is_feel(value):
            findings.unsupported(assignment, f"a FEEL {name} is not supported; write the value itself")
            continue
        properties[name] = value
    add_properties(activity, properties)


def _io_mapping(activity: Any, findings: Findings) -> tuple[dict[str, str], dict[str, str]]:
    """(inputs, outputs) of `zeebe:ioMapping`: target -> expression in our language."""
    mappings: tuple[dict[str, str], dict[str, str]] = ({}, {})
    mapping = _extension(activity, "ioMapping")
    if mapping is None:
        return mappings
    for index, tag in enumerate(("input", "output")):
        for item in mapping.findall(_zeebe(tag)):
            source, target = item.get("source") or "", item.get("target")
            value = translate_text(source, item, findings, feel_to_expression) if is_feel(source) else repr(source)
            if value is not None and target:
                mappings[index][target] = value
    return mappings
