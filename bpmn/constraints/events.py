"""Event rules: which event definitions each kind of event may hold, and what they must name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bpmn.constraints.model import (
    EVENT_DEFINITIONS,
    SUBPROCESSES,
    Model,
    children,
    container_of,
    is_event_subprocess,
    is_executable,
    tag,
)
from bpmn.constraints.registry import Finding, at, rule

# Allowed triggers per kind of event (BPMN 2.0, tables 10.84-10.93); `none` means no definition.
_TOP_START = {"message", "timer", "conditional", "signal", "none"}
_EVENT_SUB_START = {"message", "timer", "conditional", "signal", "error", "escalation", "compensate"}
_END = {"message", "error", "escalation", "cancel", "compensate", "signal", "terminate", "none"}
_CATCH = {"message", "timer", "conditional", "link", "signal"}
_THROW = {"message", "escalation", "compensate", "link", "signal", "none"}
_KIND_WORDS = {"error": "error", "compensate": "compensation"}
_BOUNDARY = {"message", "timer", "escalation", "error", "cancel", "compensate", "conditional", "signal"}


def _kinds(model: Model, event: Any) -> list[str]:
    return model.definition_kinds(event) or ["none"]


def _illegal(model: Model, events: list[Any], allowed: set[str], what: str) -> Iterator[Finding]:
    for event in events:
        kinds = _kinds(model, event)
        bad = sorted({k for k in kinds if k not in allowed})
        if bad:
            yield at(event, f"{what} {event.get('id')} must not have a {'/'.join(bad)} trigger "
                            f"(allowed: {', '.join(sorted(allowed))})")


@rule("EXT.098", "a top-level start event has a none, message, timer, conditional or signal trigger")
def top_level_start(model: Model) -> Iterator[Finding]:
    starts = [e for e in model.all("startEvent") if tag(container_of(e)) == "process"]
    yield from _illegal(model, starts, _TOP_START, "the top-level start event")


@rule("EXT.059", "an event sub-process starts with a trigger; error and compensation starts are interrupting")
def event_subprocess_start(model: Model) -> Iterator[Finding]:
    for start in model.all("startEvent"):
        parent = container_of(start)
        if parent is None or not is_event_subprocess(parent):
            continue
        yield from _illegal(model, [start], _EVENT_SUB_START, "the start event of an event sub-process")
        # BPMN 2.0.2, table 10.86: only these two triggers have no non-interrupting form.
        for kind in sorted({"error", "compensate"} & set(_kinds(model, start))):
            if start.get("isInterrupting") == "false":
                yield at(start, f"the {_KIND_WORDS[kind]} start event {start.get('id')} of an event sub-process "
                                "must be interrupting")


@rule("EXT.100", "the start event of an embedded sub-process or transaction has no trigger")
def subprocess_start(model: Model) -> Iterator[Finding]:
    for start in model.all("startEvent"):
        parent = container_of(start)
        if parent is not None and tag(parent) in SUBPROCESSES and not is_event_subprocess(parent) \
                and model.definitions_of(start):
            yield at(start, f"the start event {start.get('id')} of sub-process {parent.get('id')} "
                            "must be a none start event")


@rule("EXT.146", "an end event has a none, message, error, escalation, cancel, compensation, signal or "
                 "terminate result")
def end_events(model: Model) -> Iterator[Finding]:
    yield from _illegal(model, list(model.all("endEvent")), _END, "the end event")


@rule("EXT.148", "an intermediate catch event has a message, timer, conditional, link or signal trigger")
def catch_events(model: Model) -> Iterator[Finding]:
    yield from _illegal(model, list(model.all("intermediateCatchEvent")), _CATCH, "the intermediate catch event")


@rule("EXT.149", "an intermediate throw event has a none, message, escalation, compensation, link or "
                 "signal result")
def throw_events(model: Model) -> Iterator[Finding]:
    yield from _illegal(model, list(model.all("intermediateThrowEvent")), _THROW, "the intermediate throw event")


@rule("EXT.110", "a boundary event has a trigger that can interrupt or notify an activity")
def boundary_triggers(model: Model) -> Iterator[Finding]:
    yield from _illegal(model, list(model.all("boundaryEvent")), _BOUNDARY, "the boundary event")


@rule("EXT.147", "error and cancel boundary events are interrupting")
def boundary_interrupting(model: Model) -> Iterator[Finding]:
    for event in model.all("boundaryEvent"):
        kinds = set(_kinds(model, event)) & {"error", "cancel"}
        if kinds and event.get("cancelActivity") == "false":
            yield at(event, f"the {'/'.join(sorted(kinds))} boundary event {event.get('id')} must be "
                            "interrupting (cancelActivity must not be false)")


@rule("EXT.106", "cancel end events and cancel boundary events belong to transactions")
def cancel_in_transaction(model: Model) -> Iterator[Finding]:
    for event in model.all("endEvent"):
        if "cancel" in model.definition_kinds(event) and tag(container_of(event)) != "transaction":
            yield at(event, f"the cancel end event {event.get('id')} is not inside a transaction")
    for event in model.all("boundaryEvent"):
        host = model.ref(event.get("attachedToRef"))
        if "cancel" in model.definition_kinds(event) and host is not None and tag(host) != "transaction":
            yield at(event, f"the cancel boundary event {event.get('id')} is not attached to a transaction")


@rule("EXT.129", "an event sub-process has exactly one start event")
def event_subprocess_starts(model: Model) -> Iterator[Finding]:
    for sub in model.all(*SUBPROCESSES):
        if is_event_subprocess(sub) and len(children(sub, "startEvent")) != 1:
            yield at(sub, f"the event sub-process {sub.get('id')} has {len(children(sub, 'startEvent'))} "
                          "start events; it needs exactly one")


@rule("EXT.095", "eventDefinitionRef names an event definition declared at the top level")
def event_definition_refs(model: Model) -> Iterator[Finding]:
    for event in model.all("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
                           "boundaryEvent"):
        for element in children(event, "eventDefinitionRef"):
            target = model.ref(element.text)
            if target is None or tag(target) not in EVENT_DEFINITIONS:
                continue  # REF rules report references that do not resolve or name the wrong kind
            if target.getparent() is not model.root:
                yield at(element, f"eventDefinitionRef '{element.text}' of {event.get('id')} names the event "
                                  "definition of another event; only top-level definitions may be shared")


@rule("EXT.011", "an escalation event names an escalation that has an escalationCode")
def escalation_codes(model: Model) -> Iterator[Finding]:
    for definition in model.all("escalationEventDefinition"):
        event = definition.getparent()
        if tag(event) not in ("endEvent", "intermediateThrowEvent"):
            continue
        target = model.ref(definition.get("escalationRef"))
        if target is None:
            yield at(definition, f"the escalation event {event.get('id')} names no escalation (escalationRef)")
        elif tag(target) == "escalation" and not (target.get("escalationCode") or "").strip():
            yield at(definition, f"the escalation '{target.get('id')}' thrown by {event.get('id')} has no "
                                 "escalationCode")


@rule("EXT.127", "a message event names the message it sends or receives")
def message_refs(model: Model) -> Iterator[Finding]:
    for definition in model.all("messageEventDefinition"):
        event = definition.getparent()
        if tag(event) in ("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
                          "boundaryEvent") and not definition.get("messageRef") and is_executable(event):
            yield at(definition, f"the message event {event.get('id')} names no message (messageRef)")


def _links(model: Model, event_tag: str) -> list[tuple[Any, Any]]:
    return [(event, definition) for event in model.all(event_tag)
            for definition in children(event, "linkEventDefinition")]


@rule("EXT.117", "a link catch event has no incoming, a link throw event no outgoing sequence flow")
def link_flows(model: Model) -> Iterator[Finding]:
    for event_tag, end, word in (("intermediateCatchEvent", "targetRef", "incoming"),
                                 ("intermediateThrowEvent", "sourceRef", "outgoing")):
        for event, _ in _links(model, event_tag):
            if model.node_flows(event, end):
                yield at(event, f"the link event {event.get('id')} must not have an {word} sequence flow")


@rule("EXT.118", "link throw and catch events name each other (target and source agree)")
def link_pairs(model: Model) -> Iterator[Finding]:
    for event, definition in _links(model, "intermediateThrowEvent"):
        for target_ref in (c.text or "" for c in children(definition, "target")):
            target = model.ref(target_ref)
            if target is not None and tag(target) == "linkEventDefinition":
                sources = {(c.text or "").strip() for c in children(target, "source")}
                if sources and definition.get("id") not in sources:
                    yield at(event, f"the link throw event {event.get('id')} targets '{target_ref}', which does "
                                    f"not list '{definition.get('id')}' as a source")


@rule("EXT.124", "a link catch event has a source (by source or by a throw event of its name)")
def link_ends(model: Model) -> Iterator[Finding]:
    throws = {definition.get("name") for _, definition in _links(model, "intermediateThrowEvent")}
    for event, definition in _links(model, "intermediateCatchEvent"):
        named = definition.get("name") and definition.get("name") in throws
        if not children(definition, "source") and not named:
            yield at(event, f"the link catch event {event.get('id')} has no source link throw event")


@rule("EXT.062", "an ad-hoc sub-process holds no start or end events")
def adhoc_events(model: Model) -> Iterator[Finding]:
    for sub in model.all("adHocSubProcess"):
        for event in children(sub, "startEvent", "endEvent"):
            yield at(event, f"the ad-hoc sub-process {sub.get('id')} must not contain the {tag(event)} "
                            f"{event.get('id')}")


@rule("EXT.125", "a link throw event names exactly one target (by target or by a catch event of its name)")
def link_targets(model: Model) -> Iterator[Finding]:
    catches = {definition.get("name") for _, definition in _links(model, "intermediateCatchEvent")}
    for event, definition in _links(model, "intermediateThrowEvent"):
        targets = children(definition, "target")
        if len(targets) > 1:
            yield at(event, f"the link throw event {event.get('id')} names {len(targets)} targets; a link "
                            "jumps to exactly one catch event")
        elif not targets and not (definition.get("name") and definition.get("name") in catches):
            yield at(event, f"the link throw event {event.get('id')} has no target: no link catch event is named "
                            f"'{definition.get('name') or ''}' and it names no <target>")


@rule("EXT.126", "a link jumps within one process level")
def link_levels(model: Model) -> Iterator[Finding]:
    for event, definition in _links(model, "intermediateThrowEvent"):
        for target_ref in (c.text or "" for c in children(definition, "target")):
            target = model.ref(target_ref)
            if target is None or tag(target) != "linkEventDefinition":
                continue  # REF.001 reports references that do not resolve
            catch = target.getparent()
            if catch is not None and container_of(catch) is not container_of(event):
                yield at(event, f"the link throw event {event.get('id')} targets {catch.get('id')} on another "
                                "process level; a link cannot leave or enter a sub-process")
