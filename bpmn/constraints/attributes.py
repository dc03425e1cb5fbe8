"""Attribute rules: ids, URIs and MIME types, process types, token quantities, immediate flows."""

from __future__ import annotations

import re
from collections.abc import Iterator

from bpmn.constraints.model import ACTIVITIES, FLOW_NODES, Model, is_executable, tag
from bpmn.constraints.registry import Finding, at, rule

_MIME = re.compile(r"[A-Za-z0-9][\w!#$&^.+-]*/[A-Za-z0-9][\w!#$&^.+-]*(?:\s*;.*)?")
# RFC 3986 in short: a scheme, then no spaces or characters that are never allowed in a URI.
_URI = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]*|##\w+|[^\s:<>\"{}|\\^`]+)")
# `import/@location` is left out: modelers write plain file names there ("Vacation Approval.dmn").
# A "%" in a URI starts an escape of two hex digits (RFC 3986, 2.1); anything else is no URI.
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_URI_ATTRIBUTES = ("expressionLanguage", "typeLanguage", "language", "implementation", "namespace",
                   "importType", "targetNamespace")


# Only BPMN's own elements have XML ids; an extension's `id` attribute (spiffworkflow:parameter,
# camunda:formField ...) is a name within its parent and may repeat across tasks.
_ID_NAMESPACES = (
    "{http://www.omg.org/spec/BPMN/20100524/MODEL}",
    "{http://www.omg.org/spec/BPMN/20100524/DI}",
    "{http://www.omg.org/spec/DD/20100524/DI}",
)


@rule("EXT.002", "ids are unique within a document", on_schema_errors=True)
def unique_ids(model: Model) -> Iterator[Finding]:
    seen: set[str] = set()
    for element in model.root.iter():
        is_bpmn = isinstance(element.tag, str) and element.tag.startswith(_ID_NAMESPACES)
        element_id = element.get("id") if is_bpmn else None
        if element_id and element_id in seen:
            yield at(element, f"the id '{element_id}' is used by more than one element")
        elif element_id:
            seen.add(element_id)


@rule("EXT.003", "flow nodes and sequence flows have an id")
def ids_present(model: Model) -> Iterator[Finding]:
    for element in model.all(*FLOW_NODES, "sequenceFlow", "process"):
        if not (element.get("id") or "").strip():
            yield at(element, f"a bpmn:{tag(element)} has no id, so nothing can refer to it")


@rule("EXT.004", "documentation and text annotations name their text format as a MIME type")
def mime_types(model: Model) -> Iterator[Finding]:
    for element in model.root.iter():
        text_format = element.get("textFormat") if isinstance(element.tag, str) else None
        if text_format is not None and not _MIME.fullmatch(text_format.strip()):
            yield at(element, f"textFormat '{text_format}' is not a MIME type such as text/plain")
    for element in model.all("dataState", "import", "resource"):
        for name in ("mimeType",):
            value = element.get(name)
            if value is not None and not _MIME.fullmatch(value.strip()):
                yield at(element, f"{name} '{value}' is not a MIME type")


@rule("EXT.014", "URI attributes hold URIs", on_schema_errors=True)
def uris(model: Model) -> Iterator[Finding]:
    for element in model.root.iter():
        if not tag(element):
            continue
        for name in _URI_ATTRIBUTES:
            value = element.get(name)
            if value is not None and (not _URI.fullmatch(value.strip()) or _BAD_ESCAPE.search(value)):
                yield at(element, f"{name} '{value}' of {element.get('id') or 'bpmn:' + tag(element)} is not a URI")


@rule("EXT.035", "a public process is not executable")
def public_processes(model: Model) -> Iterator[Finding]:
    for process in model.all("process"):
        if process.get("processType") == "Public" and process.get("isExecutable") == "true":
            yield at(process, f"the process {process.get('id')} is Public (a view for partners) and cannot "
                              "be executable")


@rule("EXT.037", "an activity's startQuantity and completionQuantity are at least 1")
def quantities(model: Model) -> Iterator[Finding]:
    for activity in model.all(*ACTIVITIES):
        for name in ("startQuantity", "completionQuantity"):
            value = activity.get(name)
            if value is not None and (not value.strip().lstrip("-").isdigit() or int(value) < 1):
                yield at(activity, f"{name} of {activity.get('id')} is {value}; it must be at least 1")


@rule("EXT.024", "sequence flows of executable processes are immediate")
def immediate(model: Model) -> Iterator[Finding]:
    for flow in model.all("sequenceFlow"):
        if flow.get("isImmediate") == "false" and is_executable(flow):
            yield at(flow, f"sequence flow {flow.get('id')} is isImmediate=\"false\", which only descriptive "
                           "(non-executable) processes allow")
