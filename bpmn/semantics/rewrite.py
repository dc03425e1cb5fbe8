"""Tree pre-transforms that give SpiffWorkflow 3.2.0 plain structure for constructs it lacks.

Each function takes one BPMN document tree and changes it in place; `rewrite_semantics` runs them
all. They only ever add elements next to related ones (so the result still follows the schema's
element order) and never remove an analyst's element except where noted.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from lxml import etree

from bpmn.semantics.compensation import detach_boundaries, open_event_handlers
from bpmn.semantics.gateways import COUNTING_ATTRIBUTE, PB_NS

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NSMAP = {"bpmn": BPMN_NS}
SYNTHETIC = "__pb_"
GLOBAL_TASK_ATTRIBUTE = f"{{{PB_NS}}}globalTask"  # on a process made from a global task
STAND_IN = f"{SYNTHETIC}for"  # suffix of an element id that stands for an analyst's element (see `stands_for`)
# Task spec names SpiffWorkflow 3.2.0 gives its own tasks in every process (plus `<process>.EndJoin`).
_RESERVED_NAMES = frozenset({"Start", "End", "Root"})
_NODE_REF_ATTRIBUTES = ("sourceRef", "targetRef", "attachedToRef", "activityRef")
_NODE_REF_TEXTS = frozenset({"incoming", "outgoing", "flowNodeRef"})
ACTIVITIES = frozenset({"task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
                        "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess"})
_EVENTS = ("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent")
_CONTAINERS = ("process", "subProcess", "transaction", "adHocSubProcess")
_FLOW_NODES = ACTIVITIES | set(_EVENTS) | {"exclusiveGateway", "inclusiveGateway", "parallelGateway",
                                           "complexGateway", "eventBasedGateway"}
_GLOBAL_TASKS = {"globalTask": "task", "globalScriptTask": "scriptTask", "globalUserTask": "userTask",
                 "globalManualTask": "manualTask", "globalBusinessRuleTask": "businessRuleTask"}


def is_synthetic(element_id: str | None) -> bool:
    """Whether an element id was made up by a rewrite (and so is never shown to people)."""
    return element_id is not None and SYNTHETIC in element_id


def stands_for(element_id: str | None) -> str | None:
    """The analyst's element a renamed or added element runs for (a global task's body), else None."""
    if element_id is not None and element_id.endswith(STAND_IN):
        return element_id.removesuffix(STAND_IN)
    return None


def rewrite_semantics(tree: Any) -> None:
    """Apply every rewrite to one BPMN document, in dependency order."""
    rename_reserved_ids(tree)
    instantiate_receive_tasks(tree)
    detach_boundaries(tree)
    open_event_handlers(tree)
    inline_event_definition_refs(tree)
    connect_links(tree)
    globalize_tasks(tree)
    open_ad_hoc_subprocesses(tree)
    end_implicitly(tree)
    split_after_activities(tree)
    join_start_quantities(tree)


# --- helpers ------------------------------------------------------------------------------------


def _tag(name: str) -> str:
    return f"{{{BPMN_NS}}}{name}"


def _local(element: Any) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _xpath(node: Any, path: str) -> list[Any]:
    found: list[Any] = node.xpath(path, namespaces=NSMAP)
    return found


def _new(tag_name: str, **attrs: str | None) -> Any:
    return etree.Element(_tag(tag_name), {k: v for k, v in attrs.items() if v is not None}, nsmap=NSMAP)


def _flow(flow_id: str, source: str, target: str) -> Any:
    return _new("sequenceFlow", id=flow_id, sourceRef=source, targetRef=target)


def _containers(tree: Any) -> Iterator[Any]:
    yield from tree.iter(*(_tag(name) for name in _CONTAINERS))


def _strip_prefix(ref: str) -> str:
    """`tns:Error_1` -> `Error_1` (references may be written as QNames)."""
    return ref.rsplit(":", 1)[-1].strip()


# --- ids SpiffWorkflow reserves -----------------------------------------------------------------


def rename_reserved_ids(tree: Any) -> None:
    """Rename flow nodes whose id is a task spec name SpiffWorkflow uses itself (`Start`, `End`, ...).

    SpiffWorkflow 3.2.0 names task specs by element id, and its own start task is `Start`: a start
    event with id `Start` replaced it, and the process parsed to nothing ("No output task
    connected"). The node gets id `<id>__pb_for` (`stands_for` maps it back for the audit), and
    every reference to it follows.
    """
    root = tree.getroot() if hasattr(tree, "getroot") else tree
    processes = {p.get("id") for p in root if _local(p) in _CONTAINERS}
    renamed: dict[str, str] = {}
    for element in root.iter():
        element_id = element.get("id") if isinstance(element.tag, str) else None
        if element_id and _local(element) in _FLOW_NODES and (
                element_id in _RESERVED_NAMES or any(element_id == f"{p}.EndJoin" for p in processes)):
            renamed[element_id] = f"{element_id}{STAND_IN}"
            element.set("id", renamed[element_id])
    if not renamed:
        return
    for element in root.iter():
        for attribute in _NODE_REF_ATTRIBUTES:
            if element.get(attribute) in renamed:
                element.set(attribute, renamed[element.get(attribute)])
        if _local(element) in _NODE_REF_TEXTS and (element.text or "").strip() in renamed:
            element.text = renamed[(element.text or "").strip()]


# --- instantiating receive tasks ----------------------------------------------------------------


def instantiate_receive_tasks(tree: Any) -> None:
    """Run a receive task that instantiates its process as a message start event with the same id.

    BPMN lets a receive task with `instantiate="true"` and no incoming flow start its process when
    its message arrives (the message is both the start and what the task receives). SpiffWorkflow
    3.2.0 ignores `instantiate` and finds no start event. Only a process (or sub-process level) with
    no start event of its own is changed; the element keeps its id, so the audit names it.
    """
    for container in list(_containers(tree)):
        if _xpath(container, "./bpmn:startEvent"):
            continue
        targets = {f.get("targetRef") for f in _xpath(container, "./bpmn:sequenceFlow")}
        for task in _xpath(container, "./bpmn:receiveTask[@instantiate='true']"):
            if task.get("id") in targets or not task.get("messageRef"):
                continue
            start = _new("startEvent", id=task.get("id"), name=task.get("name"))
            start.extend(copy.deepcopy(c) for c in task if _local(c) in ("documentation", "extensionElements",
                                                                           "outgoing"))
            start.append(_new("messageEventDefinition", id=f"{task.get('id')}{SYNTHETIC}message",
                              messageRef=task.get("messageRef")))
            task.addprevious(start)
            container.remove(task)


# --- eventDefinitionRef -------------------------------------------------------------------------


def inline_event_definition_refs(tree: Any) -> None:
    """Copy definitions-level event definitions into the events that reference them.

    SpiffWorkflow 3.2.0 only reads event definitions nested in the event and silently treats an
    event with `eventDefinitionRef` as a none event.
    """
    root = tree.getroot() if hasattr(tree, "getroot") else tree
    shared = {d.get("id"): d for d in root if _local(d).endswith("EventDefinition") and d.get("id")}
    if not shared:
        return
    for event in tree.iter(*(_tag(name) for name in _EVENTS)):
        for ref in _xpath(event, "./bpmn:eventDefinitionRef"):
            definition = shared.get(_strip_prefix(ref.text or ""))
            if definition is None:
                continue
            inlined = copy.deepcopy(definition)
            inlined.set("id", f"{definition.get('id')}{SYNTHETIC}{event.get('id')}")
            ref.addprevious(inlined)
            event.remove(ref)


# --- link events --------------------------------------------------------------------------------


def connect_links(tree: Any) -> None:
    """Replace each link throw/catch pair of a process level by a sequence flow between them.

    A link throw event jumps to the link catch event of the same name in the same process (or
    sub-process). SpiffWorkflow 3.2.0 does not parse link event definitions; without them the throw
    event becomes a pass-through none event that the added flow connects to the catch event, which
    itself becomes a pass-through.
    """
    for container in _containers(tree):
        catches: dict[str, Any] = {}
        for event in _xpath(container, "./bpmn:intermediateCatchEvent[bpmn:linkEventDefinition]"):
            definition = _xpath(event, "./bpmn:linkEventDefinition")[0]
            for key in (definition.get("name"), definition.get("id")):
                if key:
                    catches.setdefault(key, event)
            event.remove(definition)
        for event in _xpath(container, "./bpmn:intermediateThrowEvent[bpmn:linkEventDefinition]"):
            definition = _xpath(event, "./bpmn:linkEventDefinition")[0]
            targets = [_strip_prefix(t.text or "") for t in _xpath(definition, "./bpmn:target")]
            keys = [definition.get("name") or "", *targets]
            catch = next((catches[k] for k in keys if k in catches), None)
            if catch is None:
                continue  # validation reports the dangling link; leave the event as it was
            event.remove(definition)
            event.addnext(_flow(f"{event.get('id')}{SYNTHETIC}link", event.get("id"), catch.get("id")))


# --- global tasks -------------------------------------------------------------------------------


def globalize_tasks(tree: Any) -> None:
    """Turn each definitions-level global task into a one-task process that call activities call.

    SpiffWorkflow 3.2.0 only calls processes. A global task keeps its id as the id of the process,
    so `calledElement` references resolve unchanged; the task inside runs with the caller's data and
    stands in for the global task: `stands_for` maps its id back, so the audit names the element the
    analyst wrote (the schema forbids reusing the id itself).
    """
    root = tree.getroot() if hasattr(tree, "getroot") else tree
    for element in list(root):
        kind = _GLOBAL_TASKS.get(_local(element))
        if kind is None:
            continue
        global_id = element.get("id")
        process = _new("process", id=global_id, name=element.get("name"), isExecutable="true")
        process.set(GLOBAL_TASK_ATTRIBUTE, "true")  # a callee only: never the process a model runs
        task = _new(kind, id=f"{global_id}{STAND_IN}", name=element.get("name"))
        for child in element:
            if _local(child) in ("documentation", "extensionElements", "script"):
                task.append(copy.deepcopy(child))
        start, end = f"{global_id}{SYNTHETIC}start", f"{global_id}{SYNTHETIC}end"
        process.extend([_new("startEvent", id=start), task, _new("endEvent", id=end),
                        _flow(f"{start}_flow", start, task.get("id")), _flow(f"{end}_flow", task.get("id"), end)])
        element.addnext(process)
        root.remove(element)
    for call in tree.iter(_tag("callActivity")):
        if call.get("calledElement"):
            call.set("calledElement", _strip_prefix(call.get("calledElement")))


# --- ad-hoc sub-processes -----------------------------------------------------------------------


def open_ad_hoc_subprocesses(tree: Any) -> None:
    """Run an ad-hoc sub-process without a completion condition as a sub-process doing everything once.

    SpiffWorkflow 3.2.0 crashes on such ad-hoc sub-processes. Without a completion condition BPMN
    lets every inner activity run, and the sub-process completes when none is left: a sub-process
    whose added start event passes a token to every activity without an incoming flow. Sequential
    ordering is kept in spirit: Patchbay runs one activity at a time anyway.
    """
    for adhoc in list(tree.iter(_tag("adHocSubProcess"))):
        if _xpath(adhoc, "./bpmn:completionCondition"):
            continue  # left for validation to report
        adhoc.tag = _tag("subProcess")
        for attribute in ("ordering", "cancelRemainingInstances"):
            adhoc.attrib.pop(attribute, None)
        flows = _xpath(adhoc, "./bpmn:sequenceFlow")
        targets, sources = {f.get("targetRef") for f in flows}, {f.get("sourceRef") for f in flows}
        activities = [c for c in adhoc if _local(c) in ACTIVITIES]
        entries = [a for a in activities if a.get("id") not in targets]
        if not entries:
            continue
        base = adhoc.get("id")
        start, fork, end = (f"{base}{SYNTHETIC}{part}" for part in ("start", "fork", "end"))
        added = [_new("startEvent", id=start), _new("parallelGateway", id=fork), _new("endEvent", id=end),
                 _flow(f"{start}_flow", start, fork)]
        added += [_flow(f"{fork}_{e.get('id')}", fork, e.get("id")) for e in entries]
        added += [_flow(f"{end}_{a.get('id')}", a.get("id"), end) for a in activities if a.get("id") not in sources]
        for element in added:
            entries[0].addprevious(element)


# --- implicit ends ------------------------------------------------------------------------------


def end_implicitly(tree: Any) -> None:
    """Give every activity and intermediate event without an outgoing flow an end event.

    BPMN (13.3.5): a flow node without outgoing sequence flow ends its path (an implicit end).
    SpiffWorkflow 3.2.0 only completes a process through its end events: the token stopped there
    and the instance stalled. Compensation handlers (reached by an association) and event
    sub-processes (started by their event) are left alone.
    """
    for container in list(_containers(tree)):
        sources = {f.get("sourceRef") for f in _xpath(container, "./bpmn:sequenceFlow")}
        for node in list(container):
            kind = _local(node)
            if (kind not in ACTIVITIES and kind not in ("intermediateCatchEvent", "intermediateThrowEvent")) \
                    or node.get("id") in sources or node.get("isForCompensation") == "true" \
                    or node.get("triggeredByEvent") == "true":
                continue
            end = f"{node.get('id')}{SYNTHETIC}end"
            node.addnext(_flow(f"{end}_flow", node.get("id"), end))
            node.addnext(_new("endEvent", id=end))


# --- implicit splits out of activities ----------------------------------------------------------


def split_after_activities(tree: Any) -> None:
    """Give activities with several, conditional or repeated outgoing tokens an explicit split gateway.

    SpiffWorkflow 3.2.0 refuses several outgoing flows on an activity and ignores conditions on
    the one it allows. BPMN: every unconditioned flow gets a token, every conditional flow whose
    condition holds gets one, the default flow only when no other flow is taken; with
    `completionQuantity` n, each of those flows gets n tokens.
    """
    for container in list(_containers(tree)):
        flows = _xpath(container, "./bpmn:sequenceFlow")
        outgoing: dict[str, list[Any]] = {}
        for flow in flows:
            outgoing.setdefault(flow.get("sourceRef"), []).append(flow)
        for activity in list(container):
            if _local(activity) in ACTIVITIES:
                _split_after(activity, outgoing.get(activity.get("id"), []))


def _split_after(activity: Any, flows: list[Any]) -> None:
    quantity = _int(activity.get("completionQuantity"), 1)
    conditional = any(_xpath(f, "./bpmn:conditionExpression") for f in flows)
    if not flows or (len(flows) == 1 and not conditional and quantity <= 1):
        return
    activity_id = activity.get("id")
    split_id = f"{activity_id}{SYNTHETIC}split"
    default = activity.attrib.pop("default", None)
    gateway = _new("inclusiveGateway" if conditional else "parallelGateway", id=split_id,
                   default=default if conditional else None)
    activity.addnext(gateway)
    gateway.addnext(_flow(f"{split_id}_in", activity_id, split_id))
    if conditional and default and any(not _xpath(f, "./bpmn:conditionExpression") and f.get("id") != default
                                       for f in flows):
        _guard_default(gateway, flows, default)
    for flow in flows:
        flow.set("sourceRef", split_id)
        if conditional and flow.get("id") != default and not _xpath(flow, "./bpmn:conditionExpression"):
            # An unconditioned flow out of an activity always gets a token; SpiffWorkflow's
            # inclusive gateway would treat it as a default flow.
            condition = _new("conditionExpression")
            condition.text = "True"
            flow.append(condition)
        for copy_number in range(1, quantity):
            _repeat_flow(flow, copy_number)


def _guard_default(gateway: Any, flows: list[Any], default: str) -> None:
    """The default flow of an activity that also has unconditioned flows: taken when no condition holds.

    BPMN 13.2.1 (p. 427): unconditioned flows out of an activity always get a token and do not count
    against the default, which is taken when none of the *conditional* flows is. An inclusive
    gateway's default would never be taken beside the always-true flows, so the default flow gets
    the negated disjunction of the other conditions instead.
    """
    conditions = [" ".join((c.text or "").split()) for f in flows if f.get("id") != default
                  for c in _xpath(f, "./bpmn:conditionExpression")]
    flow = next((f for f in flows if f.get("id") == default), None)
    if flow is None or not conditions:
        return  # a default naming no flow of the activity: validation reports it
    condition = _new("conditionExpression")
    condition.text = "not (" + " or ".join(f"({text})" for text in conditions) + ")"
    flow.append(condition)
    del gateway.attrib["default"]


def _repeat_flow(flow: Any, number: int) -> None:
    """One more token on `flow`'s target, through a pass-through event (a distinct path for SpiffWorkflow)."""
    hop = f"{flow.get('id')}{SYNTHETIC}copy{number}"
    incoming = _flow(f"{hop}_in", flow.get("sourceRef"), hop)
    incoming.extend(copy.deepcopy(c) for c in _xpath(flow, "./bpmn:conditionExpression"))
    flow.addnext(_flow(f"{hop}_out", hop, flow.get("targetRef")))
    flow.addnext(incoming)
    flow.addnext(_new("intermediateThrowEvent", id=hop))


# --- startQuantity ------------------------------------------------------------------------------


def join_start_quantities(tree: Any) -> None:
    """Put a counting join in front of every activity with `startQuantity` n > 1.

    SpiffWorkflow 3.2.0 ignores `startQuantity` and starts the activity once per token. BPMN starts
    it once per n tokens: the join (`bpmn.semantics.gateways`, a counting complex gateway) takes
    over the activity's incoming flows and passes a token on for every n that arrived.
    """
    for container in list(_containers(tree)):
        flows = _xpath(container, "./bpmn:sequenceFlow")
        for activity in list(container):
            quantity = _int(activity.get("startQuantity"), 1)
            if _local(activity) not in ACTIVITIES or quantity <= 1:
                continue
            activity_id = activity.get("id")
            join_id = f"{activity_id}{SYNTHETIC}start"
            join = _new("complexGateway", id=join_id)
            join.set(COUNTING_ATTRIBUTE, str(quantity))
            for flow in flows:
                if flow.get("targetRef") == activity_id:
                    flow.set("targetRef", join_id)
            activity.addprevious(join)
            join.addnext(_flow(f"{join_id}_out", join_id, activity_id))


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default
