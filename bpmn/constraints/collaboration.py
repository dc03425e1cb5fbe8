"""Collaboration rules: message flows connect different pools, from senders to receivers; participant
multiplicities, choreography references and global conversations are well formed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bpmn.constraints.model import GATEWAYS, Model, children, process_of, tag
from bpmn.constraints.registry import Finding, at, rule

_CATCHING = ("startEvent", "intermediateCatchEvent", "boundaryEvent")
_THROWING = ("endEvent", "intermediateThrowEvent")


def _pool(model: Model, element: Any) -> str | None:
    """The participant an element belongs to (a participant is its own pool)."""
    if tag(element) == "participant":
        return str(element.get("id"))
    process = process_of(element)
    if process is None:
        return None
    owners = [p for p in model.all("participant") if p.get("processRef") == process.get("id")]
    return str(owners[0].get("id")) if owners else f"process:{process.get('id')}"


@rule("EXT.031", "a message flow connects two different pools")
def different_pools(model: Model) -> Iterator[Finding]:
    for flow in model.all("messageFlow"):
        source, target = model.ref(flow.get("sourceRef")), model.ref(flow.get("targetRef"))
        if source is None or target is None:
            continue
        if source is target or _pool(model, source) == _pool(model, target):
            yield at(flow, f"the message flow {flow.get('id')} stays inside one pool; message flows connect "
                           "different participants")


@rule("EXT.102", "a message flow goes from a sender (throwing) to a receiver (catching)")
def message_flow_direction(model: Model) -> Iterator[Finding]:
    for flow in model.all("messageFlow"):
        source, target = model.ref(flow.get("sourceRef")), model.ref(flow.get("targetRef"))
        if source is not None and _wrong_end(model, source, sending=True):
            yield at(flow, f"the message flow {flow.get('id')} starts at {source.get('id')}, which cannot send "
                           "a message")
        if target is not None and _wrong_end(model, target, sending=False):
            yield at(flow, f"the message flow {flow.get('id')} ends at {target.get('id')}, which cannot "
                           "receive a message")


def _wrong_end(model: Model, element: Any, *, sending: bool) -> bool:
    kind = tag(element)
    if kind in GATEWAYS or (kind == "receiveTask" and sending) or (kind == "sendTask" and not sending):
        return True
    if kind in (_CATCHING if sending else _THROWING):
        return True
    if kind in (_THROWING if sending else _CATCHING):
        return "message" not in model.definition_kinds(element)
    return kind.startswith("choreography") or kind in ("subChoreography", "callChoreography")


@rule("EXT.027", "a choreography or global conversation does not reference a choreography")
def choreography_refs(model: Model) -> Iterator[Finding]:
    for element in model.all("choreography", "globalConversation"):
        for ref in children(element, "choreographyRef"):
            yield at(element, f"the {tag(element)} {element.get('id')} references choreography "
                              f"'{(ref.text or '').strip()}'; only a collaboration may")


def _number(value: str | None) -> int | None:
    text = (value or "").strip()
    return int(text) if text.lstrip("-").isdigit() else None


@rule("EXT.029", "a participant multiplicity's minimum is not negative", on_schema_errors=True)
def multiplicity_minimum(model: Model) -> Iterator[Finding]:
    for multiplicity in model.all("participantMultiplicity"):
        minimum = _number(multiplicity.get("minimum"))
        if minimum is not None and minimum < 0:
            yield at(multiplicity, f"the participant multiplicity of {_participant(multiplicity)} has minimum "
                                   f"{minimum}; it must not be negative")


@rule("EXT.030", "a participant multiplicity's maximum is at least 1 and not below its minimum",
      on_schema_errors=True)
def multiplicity_maximum(model: Model) -> Iterator[Finding]:
    for multiplicity in model.all("participantMultiplicity"):
        minimum = _number(multiplicity.get("minimum")) or 0
        maximum = _number(multiplicity.get("maximum"))
        if maximum is not None and (maximum < 1 or maximum < minimum):
            yield at(multiplicity, f"the participant multiplicity of {_participant(multiplicity)} has maximum "
                                   f"{maximum} and minimum {minimum}; the maximum must be at least 1 and at "
                                   "least the minimum")


def _participant(multiplicity: Any) -> str:
    parent = multiplicity.getparent()
    return str(parent.get("id")) if parent is not None and parent.get("id") else "a participant"


# What a global conversation may hold besides participants and message flows (BPMN 2.0.2, 9.4.4): it
# is a reusable conversation "signature", with no conversation nodes, associations or artifacts.
_NOT_IN_GLOBAL_CONVERSATION = ("conversation", "subConversation", "callConversation", "conversationLink",
                               "participantAssociation", "messageFlowAssociation", "conversationAssociation",
                               "association", "group", "textAnnotation")


@rule("EXT.032", "a global conversation holds no conversation nodes, associations or artifacts")
def global_conversation_contents(model: Model) -> Iterator[Finding]:
    for conversation in model.all("globalConversation"):
        for child in children(conversation, *_NOT_IN_GLOBAL_CONVERSATION):
            yield at(child, f"the global conversation {conversation.get('id')} must not contain the "
                            f"{tag(child)} {child.get('id') or ''}".rstrip())


@rule("EXT.033", "a collaboration and the choreography it references agree on isClosed")
def closed_choreography(model: Model) -> Iterator[Finding]:
    for collaboration in model.all("collaboration"):
        for ref in children(collaboration, "choreographyRef"):
            choreography = model.ref(ref.text)
            if choreography is None or tag(choreography) != "choreography":
                continue  # REF.001 reports references that do not resolve
            mine, theirs = collaboration.get("isClosed", "false"), choreography.get("isClosed", "false")
            if mine != theirs:
                yield at(collaboration, f"the collaboration {collaboration.get('id')} has isClosed={mine} but the "
                                        f"choreography {choreography.get('id')} it references has isClosed={theirs}")
