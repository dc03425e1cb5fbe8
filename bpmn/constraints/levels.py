"""Start and end events per process level, intermediate events in the flow (BPMN 2.0.2, 10.5.2-10.5.4).

- A level (process or sub-process) that has an end event has a start event too: without one its
  start is implicit, which the specification allows only when the level has no end events (EXT.097);
  a process started by an instantiating receive task or event-based gateway needs none.
- A process that a call activity calls is started by the call, so it needs a none start event (EXT.099).
- An intermediate event sits in the middle of a path: it has an incoming (EXT.115) and an outgoing
  (EXT.116) sequence flow, except a link catch (no incoming) and a link throw (no outgoing).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bpmn.constraints.model import CONTAINERS, Model, children, tag
from bpmn.constraints.registry import Finding, at, rule


@rule("EXT.097", "a process or sub-process level with an end event has a start event")
def end_needs_start(model: Model) -> Iterator[Finding]:
    for container in model.all(*CONTAINERS):
        if tag(container) == "adHocSubProcess":
            continue  # EXT.062: an ad-hoc sub-process has neither
        ends = children(container, "endEvent")
        # An instantiating receive task or event-based gateway starts the process in a start event's stead.
        instantiating = [n for n in children(container, "receiveTask", "eventBasedGateway")
                         if n.get("instantiate") == "true"]
        if ends and not children(container, "startEvent") and not instantiating:
            kind = "process" if tag(container) == "process" else "sub-process"
            yield at(container, f"the {kind} {container.get('id')} has the end event {ends[0].get('id')} but no "
                                "start event; with end events, every path must begin at a start event")


def _none_start(model: Model, process: Any) -> bool:
    return any(not model.definitions_of(start) for start in children(process, "startEvent"))


@rule("EXT.099", "a process called by a call activity has a none start event")
def called_process_start(model: Model) -> Iterator[Finding]:
    reported: set[str] = set()
    for call in model.all("callActivity"):
        called = model.ref(call.get("calledElement"))
        if called is None or tag(called) != "process" or called.get("id") in reported:
            continue
        if children(called, "startEvent") and not _none_start(model, called):
            reported.add(str(called.get("id")))
            yield at(called, f"the process {called.get('id')} is called by {call.get('id')} but has no none start "
                             "event; only event-triggered start events")


def _is_link(model: Model, event: Any) -> bool:
    return "link" in model.definition_kinds(event)


@rule("EXT.115", "an intermediate event (but a link catch) has an incoming sequence flow")
def intermediate_incoming(model: Model) -> Iterator[Finding]:
    for event in model.all("intermediateThrowEvent", "intermediateCatchEvent"):
        if tag(event) == "intermediateCatchEvent" and _is_link(model, event):
            continue
        if not model.node_flows(event, "targetRef"):
            yield at(event, f"the intermediate event {event.get('id')} has no incoming sequence flow")


@rule("EXT.116", "an intermediate event (but a link throw) has an outgoing sequence flow")
def intermediate_outgoing(model: Model) -> Iterator[Finding]:
    for event in model.all("intermediateThrowEvent", "intermediateCatchEvent"):
        if tag(event) == "intermediateThrowEvent" and _is_link(model, event):
            continue
        if not model.node_flows(event, "sourceRef"):
            yield at(event, f"the intermediate event {event.get('id')} has no outgoing sequence flow")
