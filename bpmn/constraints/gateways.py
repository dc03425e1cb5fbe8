"""Gateway rules: the declared direction matches the flows, event-based gateways lead to events."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bpmn.constraints.model import GATEWAYS, Model, tag
from bpmn.constraints.registry import Finding, at, rule


def _flows(model: Model, node: Any, end: str) -> list[Any]:
    return model.node_flows(node, end)


@rule("EXT.017", "a converging gateway has at most one outgoing flow")
def converging(model: Model) -> Iterator[Finding]:
    for gateway in model.all(*GATEWAYS):
        if gateway.get("gatewayDirection") == "Converging" and len(_flows(model, gateway, "sourceRef")) > 1:
            yield at(gateway, f"the converging gateway {gateway.get('id')} has more than one outgoing flow")


@rule("EXT.018", "a diverging gateway has at most one incoming flow")
def diverging(model: Model) -> Iterator[Finding]:
    for gateway in model.all(*GATEWAYS):
        if gateway.get("gatewayDirection") == "Diverging" and len(_flows(model, gateway, "targetRef")) > 1:
            yield at(gateway, f"the diverging gateway {gateway.get('id')} has more than one incoming flow")


@rule("EXT.019", "a mixed gateway has several incoming and several outgoing flows")
def mixed(model: Model) -> Iterator[Finding]:
    for gateway in model.all(*GATEWAYS):
        if gateway.get("gatewayDirection") != "Mixed":
            continue
        if len(_flows(model, gateway, "targetRef")) < 2 or len(_flows(model, gateway, "sourceRef")) < 2:
            yield at(gateway, f"the mixed gateway {gateway.get('id')} needs several incoming and several "
                              "outgoing flows")


@rule("EXT.135", "a gateway has incoming and outgoing flows, and several on at least one side")
def gateway_flows(model: Model) -> Iterator[Finding]:
    for gateway in model.all(*GATEWAYS):
        incoming, outgoing = _flows(model, gateway, "targetRef"), _flows(model, gateway, "sourceRef")
        starts = gateway.get("instantiate") == "true"
        if (not incoming and not starts) or not outgoing:
            yield at(gateway, f"the gateway {gateway.get('id')} is not connected on both sides")
        elif len(incoming) < 2 and len(outgoing) < 2:
            yield at(gateway, f"the gateway {gateway.get('id')} neither splits nor joins (one flow in, one out)")


def _targets(model: Model, gateway: Any) -> list[Any]:
    return [t for t in (model.ref(f.get("targetRef")) for f in _flows(model, gateway, "sourceRef")) if t is not None]


@rule("EXT.136", "an event-based gateway has two or more outgoing flows")
def event_gateway_outgoing(model: Model) -> Iterator[Finding]:
    for gateway in model.all("eventBasedGateway"):
        if len(_flows(model, gateway, "sourceRef")) < 2:
            yield at(gateway, f"the event-based gateway {gateway.get('id')} needs two or more outgoing flows")
        if gateway.get("gatewayDirection") in ("Converging", "Mixed"):
            yield at(gateway, f"the event-based gateway {gateway.get('id')} must be diverging, "
                              f"not {gateway.get('gatewayDirection')}")


@rule("EXT.138", "an event-based gateway leads to intermediate catch events or receive tasks only")
def event_gateway_targets(model: Model) -> Iterator[Finding]:
    allowed = {"message", "timer", "signal", "conditional"}
    for gateway in model.all("eventBasedGateway"):
        for target in _targets(model, gateway):
            kinds = model.definition_kinds(target)
            if tag(target) == "receiveTask" or (tag(target) == "intermediateCatchEvent" and len(kinds) == 1
                                                and kinds[0] in allowed):
                continue
            yield at(target, f"{target.get('id')} follows the event-based gateway {gateway.get('id')} but is "
                             "not a message, timer, signal or conditional catch event or a receive task")


@rule("EXT.139", "after an event-based gateway, message catch events and receive tasks are not mixed")
def event_gateway_mixing(model: Model) -> Iterator[Finding]:
    for gateway in model.all("eventBasedGateway"):
        targets = _targets(model, gateway)
        receive = any(tag(t) == "receiveTask" for t in targets)
        message = any(tag(t) == "intermediateCatchEvent" and "message" in model.definition_kinds(t) for t in targets)
        if receive and message:
            yield at(gateway, f"the event-based gateway {gateway.get('id')} leads to both receive tasks and "
                              "message catch events")


@rule("EXT.141", "a target of an event-based gateway has no other incoming flow and no boundary event")
def event_gateway_target_flows(model: Model) -> Iterator[Finding]:
    for gateway in model.all("eventBasedGateway"):
        for target in _targets(model, gateway):
            if len(_flows(model, target, "targetRef")) > 1:
                yield at(target, f"{target.get('id')} follows the event-based gateway {gateway.get('id')} and "
                                 "must have no other incoming flow")
            attached = [b for b in model.all("boundaryEvent") if b.get("attachedToRef") == target.get("id")]
            if tag(target) == "receiveTask" and attached:
                yield at(target, f"the receive task {target.get('id')} follows an event-based gateway and must "
                                 "have no boundary event")
