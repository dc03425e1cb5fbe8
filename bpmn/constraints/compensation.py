"""Compensation boundary events: interrupting, no outgoing flow, and a handler to run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bpmn.constraints.model import Model
from bpmn.constraints.registry import Finding, at, rule


def _compensation_boundaries(model: Model) -> Iterator[Any]:
    for event in model.all("boundaryEvent"):
        if "compensate" in model.definition_kinds(event):
            yield event


@rule("EXT.114", "a compensation boundary event has no outgoing sequence flow")
def no_outgoing_flow(model: Model) -> Iterator[Finding]:
    for event in _compensation_boundaries(model):
        if model.node_flows(event, "sourceRef"):
            yield at(event, f"the compensation boundary event {event.get('id')} has an outgoing sequence flow; "
                            "its handler is connected by an association instead")


@rule("COMP.002", "compensation boundary events are interrupting (EXT.147 for compensation)")
def interrupting(model: Model) -> Iterator[Finding]:
    for event in _compensation_boundaries(model):
        if event.get("cancelActivity") == "false":
            yield at(event, f"the compensation boundary event {event.get('id')} must not set "
                            "cancelActivity to false")


@rule("COMP.001", "a compensation boundary event is associated with a compensation handler")
def has_handler(model: Model) -> Iterator[Finding]:
    for event in _compensation_boundaries(model):
        links = [a for a in model.all("association") if a.get("sourceRef") == event.get("id")]
        target = model.ref(links[0].get("targetRef")) if links else None
        if target is None or target.get("isForCompensation") != "true":
            yield at(event, f"the compensation boundary event {event.get('id')} needs an association to an "
                            "activity with isForCompensation=\"true\"")
