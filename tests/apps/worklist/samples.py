"""BPMN models for the worklist tests, built in code so each one shows what it exercises."""

from __future__ import annotations

import io
import json
import zipfile

HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
    'id="definitions" targetNamespace="https://patchbay.example/tests/worklist">\n'
)


def one_task(key: str, task: str, *, after: str = "", lanes: str = "") -> bytes:
    """start -> `task` (whose id must be `task`) -> [after] -> end."""
    tail = after or '<bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end"/>'
    return (
        f'{HEADER}<bpmn:process id="{key}" isExecutable="true">{lanes}'
        '<bpmn:startEvent id="start"/>'
        f"{task}"
        '<bpmn:endEvent id="end"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task"/>'
        f"{tail}"
        "</bpmn:process></bpmn:definitions>"
    ).encode()


def zipped(bpmn_xml: bytes, **forms: dict[str, object]) -> bytes:
    """A zip with `model.bpmn` and JSON files (keyword name -> `<name>.json`)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model.bpmn", bpmn_xml)
        for name, data in forms.items():
            archive.writestr(f"forms/{name.replace('_', '-')}.json", json.dumps(data))
    return buffer.getvalue()


# A sales review with a generated (Camunda) form: required long with bounds, a string with lengths.
REVIEW = one_task(
    "review",
    """<bpmn:userTask id="task" name="Review order" camunda:candidateGroups="sales" camunda:priority="60">
    <bpmn:extensionElements><camunda:formData>
      <camunda:formField id="amount" label="Amount" type="long">
        <camunda:validation><camunda:constraint name="required"/><camunda:constraint name="min" config="1"/>
        <camunda:constraint name="max" config="1000"/></camunda:validation>
      </camunda:formField>
      <camunda:formField id="note" label="Note" type="string">
        <camunda:validation><camunda:constraint name="maxlength" config="10"/></camunda:validation>
      </camunda:formField>
      <camunda:formField id="decision" type="enum">
        <camunda:value id="approve" name="Approve"/><camunda:value id="reject" name="Reject"/>
      </camunda:formField>
      <camunda:formField id="customer" type="string" defaultValue="ACME">
        <camunda:validation><camunda:constraint name="readonly"/></camunda:validation>
      </camunda:formField>
      <camunda:formField id="start_on" type="date"/>
    </camunda:formData></bpmn:extensionElements>
    </bpmn:userTask>""",
)

# No form at all: any variables are accepted.
PLAIN = one_task("plain", '<bpmn:userTask id="task" name="Plain" camunda:candidateGroups="sales"/>')

# An interrupting boundary timer cancels the task after an hour.
ESCALATED = one_task(
    "escalated",
    '<bpmn:userTask id="task" name="Call back" camunda:candidateGroups="sales"/>'
    '<bpmn:boundaryEvent id="too_late" attachedToRef="task"><bpmn:timerEventDefinition>'
    "<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
    '<bpmn:endEvent id="escalated_end"/>',
    after='<bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end"/>'
    '<bpmn:sequenceFlow id="f3" sourceRef="too_late" targetRef="escalated_end"/>',
)

# Assignment from the instance's variables, and a due date and priority from expressions.
DYNAMIC = one_task(
    "dynamic",
    '<bpmn:userTask id="task" name="Regional check" camunda:candidateGroups="${region}_sales" '
    'camunda:candidateUsers="=helpers" camunda:dueDate="${sla}" camunda:priority="=90 if vip else 40"/>',
)

# A lane decides the candidate group; the assignee is named outright.
LANED = one_task(
    "laned",
    '<bpmn:userTask id="task" name="Lane work" camunda:assignee="agent"/>',
    lanes='<bpmn:laneSet id="ls"><bpmn:lane id="credit_lane" name="credit">'
    "<bpmn:flowNodeRef>task</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>",
)

JSON_FORM_TASK = one_task(
    "json_form",
    '<bpmn:userTask id="task" name="Approve"><bpmn:extensionElements><spiffworkflow:properties>'
    '<spiffworkflow:property name="formJsonSchemaFilename" value="approve-schema.json"/>'
    '<spiffworkflow:property name="formUiSchemaFilename" value="approve-ui.json"/>'
    '<spiffworkflow:property name="candidateGroups" value="sales"/>'
    "</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>",
)
APPROVE_SCHEMA = {
    "type": "object",
    "properties": {
        "approved": {"type": "boolean", "title": "Approved"},
        "reason": {"type": "string", "minLength": 5},
        "contact": {"type": "object", "properties": {"email": {"type": "string", "pattern": "^[^@]+@[^@]+$"}},
                    "required": ["email"]},
    },
    "required": ["approved"],
}
APPROVE_UI = {"reason": {"ui:widget": "textarea"}}
JSON_FORM = zipped(JSON_FORM_TASK, approve_schema=APPROVE_SCHEMA, approve_ui=APPROVE_UI)

# A task followed by a failing script: completing it fails the step.
FAILS_AFTER = one_task(
    "fails_after",
    '<bpmn:userTask id="task" name="Then boom" camunda:candidateGroups="sales"/>'
    '<bpmn:scriptTask id="boom"><bpmn:script>x = 1 / 0</bpmn:script></bpmn:scriptTask>',
    after='<bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="boom"/>'
    '<bpmn:sequenceFlow id="f3" sourceRef="boom" targetRef="end"/>',
)
