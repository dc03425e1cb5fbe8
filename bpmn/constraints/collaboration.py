"""Collaboration rules: message flows connect different pools, from senders to receivers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bpmn.constraints.model import GATEWAYS, Model, process_of, tag
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
