"""Reference rules (REF): every reference resolves, and to an element of the kind it must name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bpmn.constraints.model import ACTIVITIES, EVENT_DEFINITIONS, FLOW_NODES, Model, tag
from bpmn.constraints.registry import Finding, at, rule

_TASKS_AND_EVENTS = (*ACTIVITIES, "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
                     "boundaryEvent")
_ITEM_AWARE = ("dataInput", "dataOutput", "dataObject", "dataObjectReference", "property", "dataStore",
               "dataStoreReference")
_GLOBAL_TASKS = ("globalTask", "globalScriptTask", "globalUserTask", "globalManualTask",
                 "globalBusinessRuleTask")
# (referring element or '*', attribute) -> kinds of element the reference may name.
_ATTRIBUTES: dict[tuple[str, str], tuple[str, ...]] = {
    ("*", "messageRef"): ("message",),
    ("*", "errorRef"): ("error",),
    ("*", "escalationRef"): ("escalation",),
    ("*", "signalRef"): ("signal",),
    ("*", "operationRef"): ("operation",),
    ("*", "itemSubjectRef"): ("itemDefinition",),
    ("*", "itemRef"): ("itemDefinition",),
    ("*", "dataObjectRef"): ("dataObject",),
    ("*", "dataStoreRef"): ("dataStore",),
    ("*", "attachedToRef"): ACTIVITIES,
    ("*", "processRef"): ("process",),
    ("*", "default"): ("sequenceFlow",),
    ("*", "activityRef"): ACTIVITIES,
    ("callActivity", "calledElement"): ("process", *_GLOBAL_TASKS),
    ("sequenceFlow", "sourceRef"): FLOW_NODES,
    ("sequenceFlow", "targetRef"): FLOW_NODES,
    ("messageFlow", "sourceRef"): ("participant", *_TASKS_AND_EVENTS),
    ("messageFlow", "targetRef"): ("participant", *_TASKS_AND_EVENTS),
    ("ioBinding", "operationRef"): ("operation",),
    ("ioBinding", "inputDataRef"): ("dataInput",),
    ("ioBinding", "outputDataRef"): ("dataOutput",),
    ("error", "structureRef"): ("itemDefinition",),
    ("escalation", "structureRef"): ("itemDefinition",),
    ("signal", "structureRef"): ("itemDefinition",),
}
# (parent element, child element whose text is a reference) -> kinds it may name.
_TEXTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("*", "incoming"): ("sequenceFlow",),
    ("*", "outgoing"): ("sequenceFlow",),
    ("*", "eventDefinitionRef"): EVENT_DEFINITIONS,
    ("operation", "inMessageRef"): ("message",),
    ("operation", "outMessageRef"): ("message",),
    ("operation", "errorRef"): ("error",),
    ("*", "interfaceRef"): ("interface",),
    ("*", "supportedInterfaceRef"): ("interface",),
    ("*", "dataInputRefs"): ("dataInput",),
    ("*", "dataOutputRefs"): ("dataOutput",),
    ("*", "participantRef"): ("participant",),
    ("*", "messageFlowRef"): ("messageFlow",),
    ("*", "flowNodeRef"): FLOW_NODES,
    ("dataInputAssociation", "sourceRef"): _ITEM_AWARE,
    ("dataInputAssociation", "targetRef"): ("dataInput",),
    ("dataOutputAssociation", "sourceRef"): ("dataOutput",),
    ("dataOutputAssociation", "targetRef"): _ITEM_AWARE,
    ("*", "categoryValueRef"): ("categoryValue",),
    ("linkEventDefinition", "source"): ("linkEventDefinition",),
    ("linkEventDefinition", "target"): ("linkEventDefinition",),
}


def _kinds(table: dict[tuple[str, str], tuple[str, ...]], owner: str, name: str) -> tuple[str, ...] | None:
    return table.get((owner, name)) or table.get(("*", name))


def _foreign(model: Model, value: str) -> bool:
    """A prefixed reference into another namespace (an import) is not ours to resolve."""
    if ":" not in value:
        return False
    prefix = value.split(":", 1)[0]
    namespace = model.root.nsmap.get(prefix)
    return bool(namespace != model.root.get("targetNamespace"))


def _check(model: Model, element: Any, owner: str, name: str, value: str, *,
           kinds: tuple[str, ...]) -> Iterator[Finding]:
    if not value or _foreign(model, value):
        return
    target = model.ref(value)
    where = element.get("id") or (element.getparent().get("id") if element.getparent() is not None else None)
    if target is None and name in ("calledElement", "structureRef"):
        # A called process may be deployed on its own (validation's call check says more); a
        # structureRef may name a type of the type language ("String", "xsd:int").
        return
    if target is None:
        yield at(element, f"{name} '{value}' of {where or 'bpmn:' + owner} does not resolve to any element")
    elif tag(target) not in kinds:
        expected = kinds[0] if len(kinds) == 1 else "a " + "/".join(sorted(set(kinds))[:4]) + "..."
        yield at(element, f"{name} '{value}' of {where or 'bpmn:' + owner} names a {tag(target) or 'foreign'} "
                          f"element; it must name {expected}")


@rule("REF.001", "references resolve, to an element of the kind they name")
def typed_references(model: Model) -> Iterator[Finding]:
    for element in model.root.iter():
        owner = tag(element)
        if not owner:
            continue
        for name, value in element.attrib.items():
            kinds = _kinds(_ATTRIBUTES, owner, name) if isinstance(name, str) and "}" not in name else None
            if kinds is not None:
                yield from _check(model, element, owner, name, value.strip(), kinds=kinds)
        parent = element.getparent()
        kinds = _kinds(_TEXTS, tag(parent), owner) if parent is not None else None
        if kinds is not None and len(element) == 0:
            yield from _check(model, element, owner, owner, (element.text or "").strip(), kinds=kinds)
