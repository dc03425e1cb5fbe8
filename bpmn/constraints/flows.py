"""Sequence flow rules: references between flows and nodes, what may start and end a path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bpmn.constraints.model import (
    ACTIVITIES,
    CONTAINERS,
    FLOW_NODES,
    GATEWAYS,
    Model,
    children,
    is_event_subprocess,
    tag,
    texts,
)
from bpmn.constraints.registry import Finding, at, rule


def _containers(model: Model) -> Iterator[Any]:
    yield from model.all(*CONTAINERS)


def _lists_flows(container: Any) -> bool:
    """Whether the modeler wrote `incoming`/`outgoing` lists in this container (some tools never do)."""
    return any(children(node, "incoming", "outgoing") for node in children(container, *FLOW_NODES))


@rule("EXT.023", "a node's incoming/outgoing lists match the sequence flows that target/leave it")
def flow_lists(model: Model) -> Iterator[Finding]:
    for container in _containers(model):
        if not _lists_flows(container):
            continue
        for node in children(container, *FLOW_NODES):
            node_id = node.get("id")
            for side, attribute in (("incoming", "targetRef"), ("outgoing", "sourceRef")):
                listed = set(texts(node, side))
                actual = {f.get("id") for f in model.node_flows(node, attribute)}
                for missing in sorted(listed - actual):
                    yield at(node, f"{node_id} lists {side} flow '{missing}', but no sequence flow "
                                   f"{'targets' if side == 'incoming' else 'leaves'} it with that id")
                for unlisted in sorted(actual - listed):
                    yield at(node, f"sequence flow '{unlisted}' {'targets' if side == 'incoming' else 'leaves'} "
                                   f"{node_id}, but {node_id} does not list it as {side}")


@rule("FLOW.001", "a sequence flow connects two flow nodes of its own process or sub-process")
def flow_ends(model: Model) -> Iterator[Finding]:
    for container in _containers(model):
        siblings = {n.get("id") for n in children(container, *FLOW_NODES)}
        for flow in model.flows(container):
            for end in ("sourceRef", "targetRef"):
                ref = flow.get(end)
                target = model.ref(ref)
                if not ref:
                    yield at(flow, f"sequence flow {flow.get('id')} has no {end}")
                elif target is None:
                    continue  # REF.001 reports dangling references
                elif tag(target) not in FLOW_NODES:
                    yield at(flow, f"{end} '{ref}' of sequence flow {flow.get('id')} is a {tag(target) or 'foreign'} "
                                   "element, not a flow node")
                elif ref not in siblings:
                    yield at(flow, f"sequence flow {flow.get('id')} crosses the boundary of "
                                   f"{container.get('id')}: its {end} '{ref}' is elsewhere")


def _incoming(model: Model, node: Any) -> list[Any]:
    return model.node_flows(node, "targetRef")


def _outgoing(model: Model, node: Any) -> list[Any]:
    return model.node_flows(node, "sourceRef")


@rule("EXT.104", "a start event has no incoming and an end event no outgoing sequence flow")
def start_and_end(model: Model) -> Iterator[Finding]:
    for event in model.all("startEvent"):
        if _incoming(model, event):
            yield at(event, f"the start event {event.get('id')} has an incoming sequence flow")
    for event in model.all("endEvent"):
        if _outgoing(model, event):
            yield at(event, f"the end event {event.get('id')} has an outgoing sequence flow")


@rule("EXT.105", "a process or sub-process level with a start event has an end event")
def start_needs_end(model: Model) -> Iterator[Finding]:
    for container in model.all("process", "subProcess", "transaction"):
        if children(container, "startEvent") and not children(container, "endEvent"):
            kind = "process" if tag(container) == "process" else "sub-process"
            yield at(container, f"the {kind} {container.get('id')} has a start event but no end event "
                                "(with a start event, every path must end in an end event)")


@rule("EXT.112", "a boundary event has no incoming sequence flow, and (unless compensation) an outgoing one")
def boundary_flows(model: Model) -> Iterator[Finding]:
    for event in model.all("boundaryEvent"):
        if _incoming(model, event):
            yield at(event, f"the boundary event {event.get('id')} has an incoming sequence flow")
        if not _outgoing(model, event) and "compensate" not in model.definition_kinds(event):
            yield at(event, f"the boundary event {event.get('id')} has no outgoing sequence flow")


@rule("EXT.057", "an event sub-process has no incoming or outgoing sequence flow")
def event_subprocess_flows(model: Model) -> Iterator[Finding]:
    for sub in model.all("subProcess", "transaction", "adHocSubProcess"):
        if is_event_subprocess(sub) and (_incoming(model, sub) or _outgoing(model, sub)):
            yield at(sub, f"the event sub-process {sub.get('id')} is connected by sequence flows")


@rule("EXT.049", "an instantiating receive task or event-based gateway has no incoming sequence flow")
def instantiating_nodes(model: Model) -> Iterator[Finding]:
    for node in model.all("receiveTask", "eventBasedGateway"):
        if node.get("instantiate") == "true" and _incoming(model, node):
            yield at(node, f"{node.get('id')} instantiates the process but has an incoming sequence flow")


def _is_compensation(node: Any) -> bool:
    return bool(node.get("isForCompensation") == "true")


@rule("EXT.150", "with start events, every node but starts, boundary events and handlers has an incoming flow")
def needs_incoming(model: Model) -> Iterator[Finding]:
    for container in _containers(model):
        if is_event_subprocess(container) or not children(container, "startEvent"):
            continue
        for node in children(container, *(ACTIVITIES + GATEWAYS), "endEvent", "intermediateThrowEvent",
                             "intermediateCatchEvent"):
            if _is_compensation(node) or is_event_subprocess(node) or _is_link_catch(model, node):
                continue
            if node.get("instantiate") != "true" and not _incoming(model, node):
                yield at(node, f"{node.get('id')} has no incoming sequence flow, so it can never run")


@rule("EXT.151", "with end events, every node but ends and handlers has an outgoing flow")
def needs_outgoing(model: Model) -> Iterator[Finding]:
    for container in _containers(model):
        if not children(container, "endEvent"):
            continue
        for node in children(container, *(ACTIVITIES + GATEWAYS), "startEvent", "intermediateThrowEvent",
                             "intermediateCatchEvent"):
            if _is_compensation(node) or is_event_subprocess(node) or _is_link_throw(model, node):
                continue
            if not _outgoing(model, node):
                yield at(node, f"{node.get('id')} has no outgoing sequence flow, so its path never ends")


def _is_link_catch(model: Model, node: Any) -> bool:
    return tag(node) == "intermediateCatchEvent" and "link" in model.definition_kinds(node)


def _is_link_throw(model: Model, node: Any) -> bool:
    return tag(node) == "intermediateThrowEvent" and "link" in model.definition_kinds(node)


@rule("EXT.026", "a default flow is one of the element's own outgoing flows")
def default_flows(model: Model) -> Iterator[Finding]:
    for node in model.all(*(ACTIVITIES + GATEWAYS)):
        default = node.get("default")
        if default and default not in {f.get("id") for f in _outgoing(model, node)}:
            yield at(node, f"the default flow '{default}' of {node.get('id')} does not leave {node.get('id')}")


@rule("EXT.025", "a conditional flow leaves an activity only when the activity has other outgoing flows")
def conditional_from_activity(model: Model) -> Iterator[Finding]:
    for node in model.all(*ACTIVITIES):
        outgoing = _outgoing(model, node)
        conditional = [f for f in outgoing if children(f, "conditionExpression")]
        if conditional and len(outgoing) == 1:
            yield at(conditional[0], f"the conditional sequence flow {conditional[0].get('id')} is the only flow "
                                     f"leaving {node.get('id')}; use an unconditional flow or a gateway")


@rule("EXT.137", "flows out of parallel and event-based gateways, and default flows, carry no condition")
def unconditional_flows(model: Model) -> Iterator[Finding]:
    # Conditions on flows out of a parallel gateway are ignored, not an error (betsy's
    # ParallelGateway_Conditions expects engines to run such models), so only event-based gateways.
    for node in model.all("eventBasedGateway"):
        for flow in _outgoing(model, node):
            if children(flow, "conditionExpression"):
                yield at(flow, f"sequence flow {flow.get('id')} leaves the {tag(node)} {node.get('id')} "
                               "and must not have a condition")
    for node in model.all(*(ACTIVITIES + GATEWAYS)):
        default = model.ref(node.get("default"))
        if default is not None and children(default, "conditionExpression"):
            yield at(default, f"the default flow {default.get('id')} of {node.get('id')} must not have a condition")
