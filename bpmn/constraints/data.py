"""Data rules: item definitions agree along data flows, message tasks and events carry matching data."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bpmn.constraints.model import EVENT_DEFINITIONS, Model, children, explicitly_executable, is_executable, tag
from bpmn.constraints.registry import Finding, at, rule

_ITEM_AWARE = ("dataInput", "dataOutput", "dataObject", "property", "dataStore")
_EXPRESSIONS = ("transformation", "timeDate", "timeCycle", "timeDuration", "loopCondition", "completionCondition",
                "loopCardinality", "activationCondition", "condition", "messagePath", "dataPath", "from", "to")
# Where an event definition's data type comes from: (definition, reference attribute, type attribute).
_DEFINITION_ITEMS = {"messageEventDefinition": ("messageRef", "itemRef"),
                     "signalEventDefinition": ("signalRef", "structureRef"),
                     "errorEventDefinition": ("errorRef", "structureRef"),
                     "escalationEventDefinition": ("escalationRef", "structureRef")}


def _same_item(model: Model, first: str | None, second: str | None) -> bool:
    """Whether two item definition references denote the same type (same definition or structure)."""
    if (first or None) == (second or None):
        return True
    a, b = model.ref(first), model.ref(second)
    return a is not None and b is not None and bool(a.get("structureRef")) and \
        a.get("structureRef") == b.get("structureRef")


@rule("EXT.020", "a data element is a collection exactly when its item definition is")
def collections(model: Model) -> Iterator[Finding]:
    for element in model.all(*_ITEM_AWARE):
        item = model.ref(element.get("itemSubjectRef"))
        if not explicitly_executable(element) or item is None or tag(item) != "itemDefinition":
            continue
        wanted = item.get("isCollection", "false") == "true"
        actual = element.get("isCollection", "false") == "true"
        if wanted != actual:
            yield at(element, f"{element.get('id')} is {'not ' if not actual else ''}a collection but its item "
                              f"definition {item.get('id')} says isCollection={str(wanted).lower()}")


def _message_item(model: Model, task: Any) -> str | None:
    message = model.ref(task.get("messageRef"))
    return message.get("itemRef") if message is not None and tag(message) == "message" else None


def _task_data(model: Model, task: Any, kind: str, sets: str, item: str | None) -> Iterator[Finding]:
    spec = children(task, "ioSpecification")
    if not spec:
        return
    data, data_sets = children(spec[0], kind), children(spec[0], sets)
    what = f"the {tag(task)} {task.get('id')}"
    if len(data_sets) > 1:
        yield at(task, f"{what} sends or receives one message, so it has at most one {sets}")
    if len(data) > 1:
        yield at(task, f"{what} sends or receives one message, so it has at most one {kind}")
    for element in data:
        if not _same_item(model, element.get("itemSubjectRef"), item):
            yield at(element, f"the {kind} {element.get('id')} of {what} does not have the item definition of "
                              f"its message ({item or 'none'})")


@rule("EXT.046", "a send task's data input is the message it sends (one input, one input set, same item)")
def send_tasks(model: Model) -> Iterator[Finding]:
    for task in model.all("sendTask"):
        if task.get("messageRef") and explicitly_executable(task):
            yield from _task_data(model, task, "dataInput", "inputSet", _message_item(model, task))


@rule("EXT.050", "a receive task's data output is the message it receives (one output, one output set, same item)")
def receive_tasks(model: Model) -> Iterator[Finding]:
    for task in model.all("receiveTask"):
        if task.get("messageRef") and explicitly_executable(task):
            yield from _task_data(model, task, "dataOutput", "outputSet", _message_item(model, task))


def _definition_item(model: Model, definition: Any) -> tuple[bool, str | None]:
    """(known, item definition reference) of the data an event definition carries."""
    attributes = _DEFINITION_ITEMS.get(tag(definition))
    if attributes is None:
        return False, None
    target = model.ref(definition.get(attributes[0]))
    return (True, target.get(attributes[1])) if target is not None else (False, None)


@rule("EXT.093", "an event with data has one data input (output) per event definition, of its item")
def event_data(model: Model) -> Iterator[Finding]:
    for event in model.all("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
                           "boundaryEvent"):
        data = children(event, "dataInput", "dataOutput")
        definitions = [d for d in model.definitions_of(event) if tag(d) in EVENT_DEFINITIONS]
        if not data or not definitions or not explicitly_executable(event):
            continue
        if len(data) != len(definitions):
            yield at(event, f"the event {event.get('id')} has {len(definitions)} event definition(s) but "
                            f"{len(data)} data {tag(data[0])[4:].lower()}(s); they must correspond one to one")
        for element, definition in zip(data, definitions, strict=False):
            known, item = _definition_item(model, definition)
            if known and not _same_item(model, element.get("itemSubjectRef"), item):
                yield at(element, f"{tag(element)} {element.get('id')} of {event.get('id')} does not have the item "
                                  f"definition of its {tag(definition)} ({item or 'none'})")


@rule("EXT.013", "a formal expression of an executable process has a body")
def expression_bodies(model: Model) -> Iterator[Finding]:
    for element in model.all(*_EXPRESSIONS):
        parent = element.getparent()
        if tag(parent) in ("assignment",) or not is_executable(element):
            continue
        if not (element.text or "").strip() and not len(element):
            owner = next((a.get("id") for a in element.iterancestors() if a.get("id")), None)
            yield at(element, f"the {tag(element)} of {owner} is empty")


@rule("EXT.065", "an I/O binding's data has the item definition of the operation's message")
def io_bindings(model: Model) -> Iterator[Finding]:
    for binding in model.all("ioBinding"):
        operation = model.ref(binding.get("operationRef"))
        if operation is None or tag(operation) != "operation":
            continue
        for data_attribute, message_tag in (("inputDataRef", "inMessageRef"), ("outputDataRef", "outMessageRef")):
            data = model.ref(binding.get(data_attribute))
            refs = children(operation, message_tag)
            message = model.ref(refs[0].text) if refs else None
            if data is None or message is None:
                continue
            if not _same_item(model, data.get("itemSubjectRef"), message.get("itemRef")):
                yield at(binding, f"{data_attribute} '{data.get('id')}' does not have the item definition of "
                                  f"the {message_tag[:-3]} message '{message.get('id')}' of {operation.get('id')}")


def _io(element: Any, kind: str) -> list[Any] | None:
    """The data inputs (`kind`="dataInput") or outputs of an element's ioSpecification; None without one."""
    specs = children(element, "ioSpecification")
    return children(specs[0], kind) if specs else None


@rule("EXT.063", "a call activity's data inputs and outputs match those of the process or global task it calls")
def call_io(model: Model) -> Iterator[Finding]:
    for call in model.all("callActivity"):
        called = model.ref(call.get("calledElement"))
        if called is None or not explicitly_executable(call):
            continue
        for kind, word in (("dataInput", "inputs"), ("dataOutput", "outputs")):
            mine, theirs = _io(call, kind), _io(called, kind)
            if mine is None or theirs is None:
                continue
            if len(mine) != len(theirs):
                yield at(call, f"the call activity {call.get('id')} has {len(mine)} data {word} but "
                               f"{called.get('id')} it calls has {len(theirs)}")
                continue
            for own, other in zip(mine, theirs, strict=True):
                if not _same_item(model, own.get("itemSubjectRef"), other.get("itemSubjectRef")):
                    yield at(own, f"data {word[:-1]} {own.get('id')} of the call activity {call.get('id')} has "
                                  f"another item definition than {other.get('id')} of {called.get('id')}")


@rule("EXT.076", "a data object reference with a state is named '<data object name> [<state>]'")
def state_names(model: Model) -> Iterator[Finding]:
    # BPMN 2.0.2, 10.4.1: the state of a data object reference is shown in brackets after the name of
    # the data object it refers to; a reference named otherwise names another object or state.
    for reference in model.all("dataObjectReference"):
        states = [s.get("name") for s in children(reference, "dataState") if s.get("name")]
        target = model.ref(reference.get("dataObjectRef"))
        name = reference.get("name")
        if not states or name is None or target is None or not target.get("name"):
            continue
        expected = f"{target.get('name')} [{states[0]}]"
        if " ".join(name.split()) != expected:
            yield at(reference, f"the data object reference {reference.get('id')} is named '{name}'; with state "
                                f"'{states[0]}' of data object '{target.get('name')}' it must be named '{expected}'")
