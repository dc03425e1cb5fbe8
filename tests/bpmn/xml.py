"""Helpers that wrap BPMN fragments into complete model documents for engine tests."""

from __future__ import annotations

import itertools

from bpmn.types import ModelSource

HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
    'id="definitions" targetNamespace="http://patchbay.example/bpmn">\n'
)


def model(body: str, *, key: str = "test_process", extra: str = "") -> ModelSource:
    """A one-process model named `key` whose process element holds `body`."""
    process = f'<bpmn:process id="{key}" isExecutable="true">\n{body}\n</bpmn:process>\n'
    xml = f"{HEADER}{extra}{process}</bpmn:definitions>\n"
    return ModelSource(filename=f"{key}.bpmn", content=xml.encode())


def flow(flow_id: str, source: str, target: str, condition: str | None = None) -> str:
    """A sequence flow, with an optional condition expression."""
    if condition is None:
        return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}"/>'
    return (f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">'
            f'<bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>')


def chain(*elements: str) -> str:
    """Flows joining element ids in order: chain('a', 'b', 'c') -> a->b, b->c."""
    return "\n".join(flow(f"f_{a}_{b}", a, b) for a, b in itertools.pairwise(elements))


def script(task_id: str, code: str) -> str:
    """A script task."""
    return f'<bpmn:scriptTask id="{task_id}"><bpmn:script>{code}</bpmn:script></bpmn:scriptTask>'


def correlated_message(process: str, message_id: str, *, name: str = "") -> str:
    """Declarations for a message `message_id` (named `name`, default the id) correlated by the
    process variable `order_id` through the key `order_key`, as a collaboration of `process`."""
    return f"""
<bpmn:collaboration id="collaboration">
  <bpmn:participant id="participant" processRef="{process}"/>
  <bpmn:correlationKey name="order_key">
    <bpmn:correlationPropertyRef>order_id</bpmn:correlationPropertyRef>
  </bpmn:correlationKey>
</bpmn:collaboration>
<bpmn:message id="{message_id}" name="{name or message_id}"/>
<bpmn:correlationProperty id="order_id" name="order_id">
  <bpmn:correlationPropertyRetrievalExpression messageRef="{message_id}">
    <bpmn:formalExpression>order_id</bpmn:formalExpression>
  </bpmn:correlationPropertyRetrievalExpression>
</bpmn:correlationProperty>
"""


def echo_task(task_id: str, result: str = "") -> str:
    """A service task calling `core.echo` with `value=amount`; the answer lands in `result`
    (default `<task_id>_result`)."""
    return f"""<bpmn:serviceTask id="{task_id}"><bpmn:extensionElements>
  <spiffworkflow:serviceTaskOperator id="core.echo" resultVariable="{result or task_id + '_result'}">
    <spiffworkflow:parameters><spiffworkflow:parameter id="value" type="int" value="amount"/></spiffworkflow:parameters>
  </spiffworkflow:serviceTaskOperator></bpmn:extensionElements></bpmn:serviceTask>"""
