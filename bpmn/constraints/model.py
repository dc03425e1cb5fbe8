"""An index over one BPMN document that the static rules share: elements by id, flows, containers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bpmn.dialects import declared_namespaces
from bpmn.parser import BPMN_NS

BPMN = f"{{{BPMN_NS}}}"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
EVENT_DEFINITIONS = ("cancelEventDefinition", "compensateEventDefinition", "conditionalEventDefinition",
                     "errorEventDefinition", "escalationEventDefinition", "linkEventDefinition",
                     "messageEventDefinition", "signalEventDefinition", "terminateEventDefinition",
                     "timerEventDefinition")
EVENTS = ("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
          "implicitThrowEvent")
GATEWAYS = ("exclusiveGateway", "inclusiveGateway", "parallelGateway", "complexGateway", "eventBasedGateway")
SUBPROCESSES = ("subProcess", "transaction", "adHocSubProcess")
TASKS = ("task", "userTask", "manualTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask",
         "receiveTask", "callActivity")
ACTIVITIES = TASKS + SUBPROCESSES
FLOW_NODES = ACTIVITIES + EVENTS + GATEWAYS
CONTAINERS = ("process", *SUBPROCESSES)


def tag(element: Any) -> str:
    """The BPMN local name of an element ('' for none, other namespaces, comments and PIs).

    None is allowed because lookups such as `container_of` find nothing for elements outside a
    process (a start event in a choreography): rules must treat that as "no such element", not crash.
    """
    if element is None:
        return ""
    name = element.tag
    return name[len(BPMN):] if isinstance(name, str) and name.startswith(BPMN) else ""


def children(element: Any, *names: str) -> list[Any]:
    """Direct BPMN children with one of `names` (all BPMN children when none given)."""
    return [c for c in element if tag(c) and (not names or tag(c) in names)]


def texts(element: Any, name: str) -> list[str]:
    """The stripped texts of direct children called `name` (e.g. `incoming`, `dataInputRefs`)."""
    return [(c.text or "").strip() for c in children(element, name)]


def local_ref(value: str | None) -> str:
    """A reference as written (`tns:foo` or `foo`) reduced to the referenced id."""
    return (value or "").strip().rsplit(":", 1)[-1]


PROFILES = ("default", "strict")


@dataclass
class Model:
    """One BPMN document, indexed for the rules."""

    name: str  # the file name, for problems
    root: Any
    # "strict" also enforces the rules Patchbay relaxes by design (docs/writing-models.md, "Profiles").
    profile: str = "default"
    by_id: dict[str, Any] = field(default_factory=dict)
    # (container, "sourceRef" | "targetRef", node id) -> flows; built once, so rules stay linear.
    _flow_index: dict[tuple[int, str, str], list[Any]] | None = None
    _namespaces: frozenset[str] | None = None

    @classmethod
    def of(cls, name: str, tree: Any, *, profile: str = "default") -> Model:
        """Index a parsed document (the first element wins when an id repeats; rule EXT.002 reports it)."""
        root = tree.getroot() if hasattr(tree, "getroot") else tree
        model = cls(name, root, profile=profile)
        for element in root.iter():
            element_id = element.get("id") if isinstance(element.tag, str) else None
            if element_id and element_id not in model.by_id:
                model.by_id[element_id] = element
        return model

    def all(self, *names: str) -> Iterator[Any]:
        """Every BPMN element called one of `names`, in document order."""
        for element in self.root.iter():
            if tag(element) in names:
                yield element

    def ref(self, value: str | None) -> Any | None:
        """The element a reference names, or None."""
        return self.by_id.get(local_ref(value)) if value else None

    def flows(self, container: Any) -> list[Any]:
        """The sequence flows directly inside a process or sub-process."""
        return children(container, "sequenceFlow")

    def node_flows(self, node: Any, end: str) -> list[Any]:
        """Flows of the node's own container whose `end` (`sourceRef`/`targetRef`) is the node."""
        if self._flow_index is None:
            self._flow_index = {}
            for container in self.all(*CONTAINERS):
                for flow in children(container, "sequenceFlow"):
                    for side in ("sourceRef", "targetRef"):
                        key = (id(container), side, flow.get(side) or "")
                        self._flow_index.setdefault(key, []).append(flow)
        container = container_of(node)
        if container is None:
            return []
        return self._flow_index.get((id(container), end, node.get("id") or ""), [])

    def definitions_of(self, event: Any) -> list[Any]:
        """An event's event definitions, inline and by `eventDefinitionRef`."""
        inline = children(event, *EVENT_DEFINITIONS)
        referenced = [self.ref(text) for text in texts(event, "eventDefinitionRef")]
        return inline + [r for r in referenced if r is not None]

    def declares(self, namespace: str) -> bool:
        """Whether any element of the document declares `namespace` (legal below the root, if rare)."""
        if self._namespaces is None:
            self._namespaces = declared_namespaces(self.root)
        return namespace in self._namespaces

    @property
    def strict(self) -> bool:
        """Whether the strict profile is on."""
        return self.profile == "strict"

    def definition_kinds(self, event: Any) -> list[str]:
        """'message', 'timer', ... for each event definition of an event."""
        return [tag(d).removesuffix("EventDefinition") for d in self.definitions_of(event)]


def container_of(element: Any) -> Any | None:
    """The process or sub-process an element sits in."""
    parent = element.getparent()
    while parent is not None and tag(parent) not in CONTAINERS:
        parent = parent.getparent()
    return parent


def process_of(element: Any) -> Any | None:
    """The top-level process an element belongs to."""
    for ancestor in element.iterancestors():
        if tag(ancestor) == "process":
            return ancestor
    return element if tag(element) == "process" else None


def is_executable(element: Any) -> bool:
    """Whether the element's process is executable (anything but isExecutable="false" is)."""
    process = process_of(element)
    return process is None or process.get("isExecutable", "true") == "true"


def explicitly_executable(element: Any) -> bool:
    """Whether the element's process says isExecutable="true" (data typing rules apply only there)."""
    process = process_of(element)
    return process is not None and process.get("isExecutable") == "true"


def is_event_subprocess(element: Any) -> bool:
    """A sub-process started by an event (`triggeredByEvent="true"`)."""
    return tag(element) in SUBPROCESSES and element.get("triggeredByEvent") == "true"
