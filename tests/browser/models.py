"""BPMN files the browser and view tests upload or deploy: hello_world and variants of it."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HELLO = (ROOT / "processes" / "hello_world" / "hello_world.bpmn").read_text()

# Two problems with element ids (a forbidden name in a script, a broken condition); it still parses as
# XML and has a diagram, so bpmn-js can show where the problems are.
BROKEN = HELLO.replace("greeting = 'Hello ' + name", "greeting = name.__class__").replace(
    "len(name) &gt; 3", "len(name) &gt;"
)

# Not XML at all: only the problem list can be shown.
GARBAGE = "<bpmn:definitions><unclosed>"

CAMUNDA_NS = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'
REVIEW_FORM = """
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="decision" label="Decision" type="enum">
            <camunda:value id="approve" name="Approve" />
            <camunda:value id="reject" name="Reject" />
            <camunda:validation><camunda:constraint name="required" /></camunda:validation>
          </camunda:formField>
          <camunda:formField id="amount" label="Credit limit (EUR)" type="long">
            <camunda:validation>
              <camunda:constraint name="required" />
              <camunda:constraint name="min" config="1" />
            </camunda:validation>
          </camunda:formField>
          <camunda:formField id="reason" label="Reason" type="string">
            <camunda:validation>
              <camunda:constraint name="required" />
              <camunda:constraint name="minlength" config="5" />
            </camunda:validation>
          </camunda:formField>
          <camunda:formField id="follow_up" label="Follow-up date" type="date" />
          <camunda:formField id="vip" label="VIP customer" type="boolean" defaultValue="false" />
        </camunda:formData>
      </bpmn:extensionElements>"""


def with_user_task(key: str, *, group: str = "agent", task_name: str = "Review greeting", due: str = "") -> str:
    """hello_world whose `greet` script is a user task for `group`, with a form (see REVIEW_FORM).

    `task_name` is put into the XML attribute escaped, so it may hold markup (it must show as text).
    """
    name = task_name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    due_attr = f' camunda:dueDate="{due}"' if due else ""
    return (
        HELLO.replace('id="hello_world"', f'id="{key}"')
        .replace('id="hello_world_definitions"', f'{CAMUNDA_NS} id="{key}_definitions"')
        .replace(
            '<bpmn:scriptTask id="greet" name="Greet" scriptFormat="python">',
            f'<bpmn:userTask id="greet" name="{name}" camunda:candidateGroups="{group}"{due_attr}>{REVIEW_FORM}',
        )
        .replace("<bpmn:script>greeting = 'Hello ' + name</bpmn:script>\n    </bpmn:scriptTask>", "</bpmn:userTask>")
    )
