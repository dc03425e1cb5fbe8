"""Small BPMN documents for the definitions tests, built in code so each test states what differs."""

from __future__ import annotations

import io
import zipfile

HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="definitions_1" targetNamespace="https://patchbay.example/tests">
"""


def bpmn_model(key: str = "greeting", *, script: str = "greeting = 'hi'", name: str = "Greeting",
               task_xml: str | None = None) -> bytes:
    """A valid one-task process `key`: start -> task -> end. `task_xml` replaces the script task."""
    task = task_xml or (
        '<bpmn:scriptTask id="do_work" name="Do work">'
        f"<bpmn:script>{script}</bpmn:script></bpmn:scriptTask>"
    )
    return (HEADER + f"""  <bpmn:process id="{key}" name="{name}" isExecutable="true">
    <bpmn:startEvent id="start_event" />
    {task}
    <bpmn:endEvent id="end_event" />
    <bpmn:sequenceFlow id="flow_1" sourceRef="start_event" targetRef="do_work" />
    <bpmn:sequenceFlow id="flow_2" sourceRef="do_work" targetRef="end_event" />
  </bpmn:process>
</bpmn:definitions>
""").encode()


def service_task(operation: str) -> str:
    """A service task `do_work` calling `operation` (SpiffWorkflow's extension markup)."""
    return f"""<bpmn:serviceTask id="do_work" name="Call">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="{operation}" resultVariable="result">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="text" type="str" value="'hello'" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
    </bpmn:serviceTask>"""


def invalid_model() -> bytes:
    """Two independent problems: a forbidden script and a service task calling an unknown operation.

    Both lines are known: `do_work` is on line 7 and `call_crm` on line 8 (its operator on line 9).
    """
    return (HEADER + """  <bpmn:process id="broken" isExecutable="true">
    <bpmn:startEvent id="start_event" />
    <bpmn:scriptTask id="do_work"><bpmn:script>import os</bpmn:script></bpmn:scriptTask>
    <bpmn:serviceTask id="call_crm"><bpmn:extensionElements>
      <spiffworkflow:serviceTaskOperator id="crm.no_such_call" resultVariable="result" />
    </bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:endEvent id="end_event" />
    <bpmn:sequenceFlow id="flow_1" sourceRef="start_event" targetRef="do_work" />
    <bpmn:sequenceFlow id="flow_2" sourceRef="do_work" targetRef="call_crm" />
    <bpmn:sequenceFlow id="flow_3" sourceRef="call_crm" targetRef="end_event" />
  </bpmn:process>
</bpmn:definitions>
""").encode()


def hostile_model() -> bytes:
    """A billion-laughs style document: a DOCTYPE with nested entities."""
    return b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="hostile" name="&lol3;" isExecutable="true">
    <bpmn:startEvent id="start_event" />
  </bpmn:process>
</bpmn:definitions>
"""


def zip_of(files: dict[str, bytes]) -> bytes:
    """A zip archive of `files` (name -> bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()
