"""BPMN models for the SLA tests, built in code so each shows what it exercises."""

from __future__ import annotations

from tests.apps.instances.samples import chain

HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
    'xmlns:patchbay="https://patchbay.dev/bpmn/sla" '
    'id="definitions" targetNamespace="https://patchbay.example/tests/sla">\n'
)


def sla(target: str, at_risk: str = "", calendar: str = "wall", **extra: str) -> str:
    """A `patchbay:sla` extension element."""
    attrs = f'target="{target}" calendar="{calendar}"' + (f' atRisk="{at_risk}"' if at_risk else "")
    attrs += "".join(f' {k}="{v}"' for k, v in extra.items())
    return f"<bpmn:extensionElements><patchbay:sla {attrs}/></bpmn:extensionElements>"


def props(**values: str) -> str:
    """spiffworkflow properties (e.g. slaTarget, candidateGroups)."""
    inner = "".join(f'<spiffworkflow:property name="{k}" value="{v}"/>' for k, v in values.items())
    return ("<bpmn:extensionElements><spiffworkflow:properties>"
            f"{inner}</spiffworkflow:properties></bpmn:extensionElements>")


def model(key: str, body: str, *, process_ext: str = "", extra: str = "") -> bytes:
    """A one-process model `key`."""
    return (f'{HEADER}{extra}<bpmn:process id="{key}" isExecutable="true">{process_ext}\n{body}\n'
            "</bpmn:process>\n</bpmn:definitions>\n").encode()


# start -> review (user task for `agent`, SLA PT1H / at risk PT45M) -> end; the process has PT2H.
# A non-interrupting boundary message `sla_escalated` on review leads to `supervisor` (group ops).
REVIEW = model(
    "review_sla",
    f"""
<bpmn:startEvent id="start"/>
<bpmn:userTask id="review" name="Review">{sla("PT1H", "PT45M").replace("</bpmn:extensionElements>", "")}
  <spiffworkflow:properties><spiffworkflow:property name="candidateGroups" value="agent"/></spiffworkflow:properties>
  </bpmn:extensionElements></bpmn:userTask>
<bpmn:boundaryEvent id="escalated" attachedToRef="review" cancelActivity="false">
  <bpmn:messageEventDefinition messageRef="sla_escalated"/></bpmn:boundaryEvent>
<bpmn:userTask id="supervisor" name="Supervisor">{props(candidateGroups="ops")}</bpmn:userTask>
<bpmn:endEvent id="end"/>
<bpmn:endEvent id="supervisor_end"/>
{chain("start", "review", "end")}
{chain("escalated", "supervisor", "supervisor_end")}
""",
    process_ext=sla("PT2H"),
    extra='<bpmn:message id="sla_escalated" name="sla_escalated"/>',
)

# The same shape declared with spiffworkflow properties only (what the telecom models use).
REVIEW_PROPS = model(
    "review_props",
    f"""
<bpmn:startEvent id="start"/>
<bpmn:userTask id="review" name="Review">{props(slaTarget="PT2H", slaCalendar="business",
                                                  slaTimezone="Europe/Vienna", candidateGroups="agent")}</bpmn:userTask>
<bpmn:endEvent id="end"/>
{chain("start", "review", "end")}
""",
)

# No SLA anywhere: overrides alone give it one.
PLAIN = model(
    "plain",
    f"""
<bpmn:startEvent id="start"/>
<bpmn:userTask id="work" name="Work">{props(candidateGroups="agent")}</bpmn:userTask>
<bpmn:endEvent id="end"/>
{chain("start", "work", "end")}
""",
)

# Finishes in its first step (scripts only): the process clock stops at once.
INSTANT = model(
    "instant",
    f"""
<bpmn:startEvent id="start"/>
<bpmn:scriptTask id="calc"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>
<bpmn:endEvent id="end"/>
{chain("start", "calc", "end")}
""",
    process_ext=sla("PT10M"),
)
