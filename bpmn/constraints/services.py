"""Rules for tasks that call something: service tasks bound to an operation, callable elements offered
as services, and script tasks (BPMN 2.0.2, 10.3.3 Service Task and Script Task, 10.3.6 / 10.4.2
InputOutputBinding).

A service task that names an `operationRef` sends the operation's in-message and receives its
out-message: its ioSpecification has exactly one input set (EXT.042), at most one output set
(EXT.043), and its data input (output) has the item definition of that message (EXT.044, EXT.045).
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Iterator
from typing import Any

from bpmn.constraints.model import Model, children, tag, texts
from bpmn.constraints.registry import Finding, at, rule

# RFC 2045 media type: type "/" subtype, optional parameters ("text/x-python; version=3").
_MIME = re.compile(r"[A-Za-z0-9][\w!#$&^.+-]*/[A-Za-z0-9][\w!#$&^.+-]*(?:\s*;.*)?")
# Script language names written instead of a MIME type by the modelers Patchbay reads models from.
_LANGUAGES = frozenset({"python", "jython", "javascript", "ecmascript", "js", "groovy", "juel", "feel", "ruby",
                        "kotlin"})


def _bound_tasks(model: Model) -> Iterator[tuple[Any, Any]]:
    """(service task, the operation its operationRef names) for every bound service task."""
    for task in model.all("serviceTask"):
        operation = model.ref(task.get("operationRef"))
        if operation is not None and tag(operation) == "operation":
            yield task, operation


def _io(task: Any, kind: str) -> list[Any]:
    specs = children(task, "ioSpecification")
    return children(specs[0], kind) if specs else []


@rule("EXT.042", "a service task bound to an operation has exactly one input set")
def one_input_set(model: Model) -> Iterator[Finding]:
    for task, operation in _bound_tasks(model):
        count = len(_io(task, "inputSet"))
        if count != 1:
            yield at(task, f"the service task {task.get('id')} calls operation {operation.get('id')} and so needs "
                           f"exactly one inputSet in its ioSpecification; it has {count}")


@rule("EXT.043", "a service task bound to an operation has at most one output set")
def one_output_set(model: Model) -> Iterator[Finding]:
    for task, operation in _bound_tasks(model):
        count = len(_io(task, "outputSet"))
        if count > 1:
            yield at(task, f"the service task {task.get('id')} calls operation {operation.get('id')} and so has at "
                           f"most one outputSet in its ioSpecification; it has {count}")


def _message_item(model: Model, operation: Any, which: str) -> tuple[bool, str | None, Any | None]:
    """(present, itemRef, itemDefinition) of the operation's in- or out-message."""
    refs = texts(operation, which)
    message = model.ref(refs[0]) if refs else None
    if message is None or tag(message) != "message":
        return False, None, None
    item = model.ref(message.get("itemRef"))
    return True, message.get("itemRef"), item if item is not None and tag(item) == "itemDefinition" else None


def _same_item(model: Model, item_ref: str | None, message_ref: str | None, message_item: Any | None) -> bool:
    """The data's item definition is the message's: the same one, or one naming the same structure."""
    if not item_ref or (item_ref or None) == (message_ref or None):
        return True  # data that declares no type takes the message's
    mine = model.ref(item_ref)
    return mine is not None and message_item is not None and bool(mine.get("structureRef")) and \
        mine.get("structureRef") == message_item.get("structureRef")


def _message_data(model: Model, kind: str, which: str) -> Iterator[Finding]:
    for task, operation in _bound_tasks(model):
        present, message_ref, message_item = _message_item(model, operation, which)
        if not present:
            continue
        for data in _io(task, kind):
            if not _same_item(model, data.get("itemSubjectRef"), message_ref, message_item):
                yield at(data, f"the {kind} {data.get('id')} of service task {task.get('id')} has item definition "
                               f"{data.get('itemSubjectRef') or 'none'}, but the {which[:-3]} message of operation "
                               f"{operation.get('id')} carries {message_ref or 'none'}")


@rule("EXT.044", "a bound service task's data input has the item definition of the operation's in-message")
def input_matches_message(model: Model) -> Iterator[Finding]:
    yield from _message_data(model, "dataInput", "inMessageRef")


@rule("EXT.045", "a bound service task's data output has the item definition of the operation's out-message")
def output_matches_message(model: Model) -> Iterator[Finding]:
    yield from _message_data(model, "dataOutput", "outMessageRef")


@rule("EXT.064", "a process or global task offered as a service (supportedInterfaceRef) has an ioBinding",
      on_schema_errors=True)
def service_bindings(model: Model) -> Iterator[Finding]:
    for element in model.root.iter():
        if tag(element) and children(element, "supportedInterfaceRef") and not children(element, "ioBinding"):
            yield at(element, f"{element.get('id')} supports interface "
                              f"'{texts(element, 'supportedInterfaceRef')[0]}' but binds none of its operations "
                              "to its data (add an ioBinding)")


_NOT_PATCHBAY_SCRIPT = "; without one it is read as a Patchbay (Python) script, and it does not parse as one"


def _readable_script(text: str) -> bool:
    """Whether a script parses in Patchbay's one script language (whether the restricted interpreter
    then allows all of it is `bpmn.expressions`' business, reported as invalid_script)."""
    try:
        ast.parse(textwrap.dedent(text), mode="exec")  # scripts embedded in XML are often indented
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    return True


def _unknown_format(model: Model, script: Any) -> bool:
    """Whether a script with no scriptFormat breaks EXT.053 under the model's profile.

    The default profile reads a script without a format as one in Patchbay's script language, as
    EXT.012 reads an untyped expression as a formal one; a script that cannot be read that way (text
    such as "a dummy script") has no format anyone could run it in, so there the rule holds.
    """
    return model.strict or not _readable_script(script.text or "")


@rule("EXT.053", "a script task with a script names the script's format")
def script_format_present(model: Model) -> Iterator[Finding]:
    # Relaxed by default: betsy's own valid models, SpiffArena and bpmn-js leave scriptFormat out,
    # and Patchbay runs every script in its one script language anyway.
    for task in model.all("scriptTask"):
        scripts = children(task, "script")
        if scripts and not (task.get("scriptFormat") or "").strip() and _unknown_format(model, scripts[0]):
            yield at(task, f"the script task {task.get('id')} has a script but no scriptFormat (e.g. "
                           f"text/x-python){'' if model.strict else _NOT_PATCHBAY_SCRIPT}")


@rule("EXT.145", "a script task's scriptFormat is a MIME type")
def script_format_mime(model: Model) -> Iterator[Finding]:
    # The default profile also takes the bare language names modelers write (Camunda: "groovy",
    # SpiffArena and Patchbay's own models: "python"); the strict profile wants the MIME type.
    for task in model.all("scriptTask"):
        value = (task.get("scriptFormat") or "").strip()
        if not value or _MIME.fullmatch(value) or (not model.strict and value.lower() in _LANGUAGES):
            continue
        yield at(task, f"the scriptFormat '{value}' of script task {task.get('id')} is not a MIME type such as "
                       f"text/x-python{'' if model.strict else ' or a script language name'}")
