"""Camunda 7 (Camunda Modeler, `camunda:` namespace) -> what Patchbay runs.

Mapped: external service tasks (`camunda:type="external"`, `camunda:topic` is the operation; input
parameters become the call's parameters), `camunda:inputOutput` on other activities (input
parameters -> pre-script, output parameters -> post-script), `${...}` conditions in the simple JUEL
subset. Left for `bpmn.human_tasks`: `camunda:assignee`, `camunda:candidateGroups`, `camunda:formData`.
Reported: Java delegates (`camunda:class`, `camunda:expression`, `camunda:delegateExpression`),
connectors, other `camunda:type`s, scripts that are not Python, execution and task listeners.
"""

from __future__ import annotations

from typing import Any

from bpmn.dialects.common import (
    Findings,
    add_operator,
    add_scripts,
    bpmn,
    translate_conditions,
    translate_text,
)
from bpmn.dialects.expressions import is_juel, juel_to_expression

NS = "http://camunda.org/schema/1.0/bpmn"
_JAVA_HOOKS = ("class", "expression", "delegateExpression")
_ACTIVITIES = ("serviceTask", "sendTask", "businessRuleTask", "scriptTask", "userTask", "task", "manualTask",
               "receiveTask", "callActivity", "subProcess")


def _camunda(name: str) -> str:
    return f"{{{NS}}}{name}"


def translate(root: Any, findings: Findings) -> None:
    """Translate one document's Camunda 7 extensions in place."""
    translate_conditions(root, findings, is_juel, juel_to_expression)
    for kind in _ACTIVITIES:
        for activity in root.iter(bpmn(kind)):
            _translate_activity(activity, kind, findings)
    for listener in root.iter(_camunda("executionListener"), _camunda("taskListener")):
        findings.unsupported(listener, f"camunda:{listener.tag.rsplit('}', 1)[-1]} (Java/script listeners) "
                                       "is not supported")


def _translate_activity(activity: Any, kind: str, findings: Findings) -> None:
    for hook in _JAVA_HOOKS:
        if activity.get(_camunda(hook)) is not None:
            findings.unsupported(activity, f"camunda:{hook} (a Java delegate) is not supported; use "
                                           "camunda:type=\"external\" with a topic")
    if activity.find(f"{bpmn('extensionElements')}/{_camunda('connector')}") is not None:
        findings.unsupported(activity, "camunda:connector is not supported; use an external task")
    if kind == "scriptTask":
        _check_script(activity, findings)
    inputs, outputs = _input_output(activity, findings)
    task_type = activity.get(_camunda("type"))
    if task_type == "external":
        topic = activity.get(_camunda("topic"))
        if not topic:
            findings.unsupported(activity, "the external task names no camunda:topic")
            return
        result = activity.get(_camunda("resultVariable")) or f"{activity.get('id')}_result"
        add_operator(activity, topic, inputs, result)
        add_scripts(activity, {}, outputs)
    elif task_type is not None:
        findings.unsupported(activity, f"camunda:type=\"{task_type}\" is not supported; use \"external\"")
    else:
        add_scripts(activity, inputs, outputs)


def _check_script(task: Any, findings: Findings) -> None:
    script_format = (task.get("scriptFormat") or "python").lower()
    if script_format not in ("python", "text/x-python"):
        findings.unsupported(task, f"scripts in {task.get('scriptFormat')} are not supported; write them in "
                                   "Patchbay's expression language")
    if task.get(_camunda("resource")) is not None:
        findings.unsupported(task, "camunda:resource (an external script file) is not supported")


def _input_output(activity: Any, findings: Findings) -> tuple[dict[str, str], dict[str, str]]:
    """(inputs, outputs) of `camunda:inputOutput`: name -> expression in our language."""
    mappings: tuple[dict[str, str], dict[str, str]] = ({}, {})
    path = f"{bpmn('extensionElements')}/{_camunda('inputOutput')}"
    for holder in activity.findall(path):
        for index, tag in enumerate(("inputParameter", "outputParameter")):
            for parameter in holder.findall(_camunda(tag)):
                value = _parameter_value(parameter, findings)
                if value is not None and parameter.get("name"):
                    mappings[index][parameter.get("name")] = value
    return mappings


def _parameter_value(parameter: Any, findings: Findings) -> str | None:
    if len(parameter):  # camunda:list / camunda:map / camunda:script
        findings.unsupported(parameter, "camunda list, map and script parameters are not supported")
        return None
    text = parameter.text or ""
    if is_juel(text):
        return translate_text(text, parameter, findings, juel_to_expression)
    return repr(text)
