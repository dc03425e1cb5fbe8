"""The validation report: every problem of an uploaded model, located by element id, line and file.

Nothing from the model runs here: expressions and scripts go through the restricted language's
static checks (`bpmn.expressions`), timers through `bpmn.timers`, and SpiffWorkflow only builds specs.
Problems are collected from every stage that can still say something useful; a stage whose input is
already known to be broken (e.g. SpiffWorkflow's parse of a model with schema errors) is skipped
rather than allowed to add confusing follow-on errors.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as DMN_SCHEMAS
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from bpmn import constraints
from bpmn.errors import InvalidModel
from bpmn.expressions import check_expression, check_script
from bpmn.human_tasks import human_task_problems
from bpmn.loading import Documents, load_documents, parse_xml
from bpmn.parser import (
    NSMAP,
    SCHEMA_LOCK,
    SPIFF_NS,
    bpmn_xpath,
    build_specs,
    choose_process,
    element_lines,
    is_executable,
    iter_processes,
    local_name,
    prepare_trees,
    rewrite_timers,
    shorten_tags,
    spiff_problem,
)
from bpmn.semantics.rewrite import GLOBAL_TASK_ATTRIBUTE
from bpmn.sla import sla_problems
from bpmn.timers import TimerKind, check_timer_text
from bpmn.types import ModelSource, Problem, ValidationReport

NS = {**NSMAP, "spiffworkflow": SPIFF_NS}
MAX_SCHEMA_ERRORS = 100  # per file: past this, more lines of the same mistake help nobody

# Element names that hold an expression but are not what the analyst thinks of as the element.
_NOT_OWNERS = ("Definition", "Characteristics", "Expression", "Cardinality", "Condition", "condition",
               "Duration", "Date", "Cycle", "Ref", "script", "messagePath")
_CONTAINERS = ("process", "subProcess", "transaction")
_UNSUPPORTED_HINTS = {
    "adHocSubProcess": "ad-hoc sub-processes with a completionCondition are not supported; "
                       "without one, every inner activity runs once",
    "dataStoreReference": "data stores are not supported; use process variables",
    "compensateEventDefinition": "a compensation event sub-process directly in a process never runs (a "
                                 "process is not compensated); put it in the sub-process it compensates",
    "linkEventDefinition": "this link event has no matching link catch (or throw) event of the same name "
                           "in the same process",
    "assignment": "data association assignments are not run (Patchbay copies the association's source "
                  "to its target); compute the value in a script task instead",
    "transformation": "data association transformations are not run (Patchbay copies the association's "
                      "source to its target); compute the value in a script task instead",
    "choreographyTask": "choreographies are not executable",
    "subChoreography": "choreographies are not executable",
    "callChoreography": "choreographies are not executable",
}
# Flow elements the BPMN schema allows in a process that SpiffWorkflow 3.2 cannot parse or run
# (or, for ad-hoc sub-processes and data stores, that Patchbay does not offer yet).
_UNSUPPORTED_CHILDREN = frozenset({"adHocSubProcess", "dataStoreReference",
                                   "choreographyTask", "subChoreography", "callChoreography"})
_ASSOCIATIONS = "(./*/bpmn:dataInputAssociation|./*/bpmn:dataOutputAssociation)"
# Left by `bpmn.semantics.compensation.open_event_handlers` only directly in a process: never triggered.
_COMPENSATION_EVENT_SUB_PROCESS_START = ("./bpmn:*[@triggeredByEvent='true']"
                                         "/bpmn:startEvent[not(@isInterrupting='false')]")
_TIMER_KINDS: dict[str, TimerKind] = {"timeDuration": "duration", "timeDate": "date", "timeCycle": "cycle"}
# (xpath, kind): texts that SpiffWorkflow hands to the script engine. `name` texts are variable names.
_TEXT_SITES = (
    ("//bpmn:sequenceFlow/bpmn:conditionExpression", "expression"),
    ("//bpmn:scriptTask/bpmn:script", "script"),
    ("//bpmn:extensionElements/spiffworkflow:preScript", "script"),
    ("//bpmn:extensionElements/spiffworkflow:postScript", "script"),
    ("//bpmn:multiInstanceLoopCharacteristics/bpmn:loopCardinality", "expression"),
    ("//bpmn:multiInstanceLoopCharacteristics/bpmn:completionCondition", "expression"),
    ("//bpmn:multiInstanceLoopCharacteristics/bpmn:loopDataInputRef", "name"),
    ("//bpmn:multiInstanceLoopCharacteristics/bpmn:loopDataOutputRef", "name"),
    ("//bpmn:standardLoopCharacteristics/bpmn:loopCondition", "expression"),
    ("//bpmn:correlationPropertyRetrievalExpression/*", "expression"),
    ("//spiffworkflow:processVariableCorrelation/spiffworkflow:expression", "expression"),
    ("//spiffworkflow:messagePayload", "expression"),
    ("//spiffworkflow:payloadExpression", "expression"),
    ("//bpmn:conditionalEventDefinition/bpmn:condition", "expression"),
)


@dataclass
class _Context:
    """What the checks of one upload share."""

    docs: Documents
    operations: Collection[str] | None
    problems: list[Problem]
    profile: str = "default"

    def add(self, code: str, message: str, element: Any, file: str, *, element_id: str | None = None,
            line: int | None = None) -> None:
        """Record an error located at `element` (or the explicit id and line)."""
        owner_id = element_id if element_id is not None else _owner_id(element)
        self.problems.append(Problem(code, message, element_id=owner_id,
                                     line=line if line is not None else element.sourceline, file=file))


def validate(source: ModelSource, *, operations: Collection[str] | None = None,
             profile: str = "default") -> ValidationReport:
    """List every problem of an uploaded model; never raises on any model and never runs anything from it.

    `operations`: the operation names service tasks may call (`None` skips that check).
    `profile`: "default", or "strict" to also enforce the BPMN rules Patchbay relaxes by design (typed
    formal expressions, EXT.012; an operationRef on message events, EXT.128). An unknown profile is a
    caller's mistake and raises ValueError.
    """
    if profile not in constraints.PROFILES:
        raise ValueError(f"unknown validation profile {profile!r}; expected one of {', '.join(constraints.PROFILES)}")
    try:
        return _validate(source, operations, profile)
    except Exception as exc:  # a validator bug must still answer with a report, not a 500
        problem = Problem("parse_error", f"unexpected error while validating: {type(exc).__name__}: {exc}")
        return ValidationReport(problems=(problem,), content_hash=source.content_hash)


def _validate(source: ModelSource, operations: Collection[str] | None, profile: str) -> ValidationReport:
    problems: list[Problem] = []
    try:
        docs = load_documents(source, problems=problems)
    except InvalidModel as exc:
        return ValidationReport(problems=exc.problems, content_hash=source.content_hash)
    ctx = _Context(docs, operations, problems, profile)
    xml_broken = bool(problems)
    # Every check sees the model as it will run (bpmn.semantics rewrites, modeler dialects translated).
    problems.extend(prepare_trees(docs))
    for check in (_check_schema, _check_elements, _check_texts, _check_services, _check_references,
                  _check_constraints):
        check(ctx)
    if not xml_broken:
        # Forms and assignment expressions of user tasks: a broken form file is an upload problem,
        # not an incident when the first instance reaches the task.
        problems.extend(human_task_problems(source))
        problems.extend(sla_problems(source))  # patchbay:sla / slaTarget values (bpmn.sla)
    # With a file unreadable, the process to run may be the one we cannot see: do not guess.
    chosen, choice_problems = (None, []) if xml_broken else choose_process(docs)
    problems.extend(_name_processes(docs, choice_problems))
    if chosen is not None and not xml_broken and not _blocking(problems):
        _check_with_spiff(ctx, chosen[1].get("id"))
    order = {name: index for index, name in enumerate(docs.files)}
    problems.sort(key=lambda p: (order.get(p.file or "", -1), p.line or 0))
    return ValidationReport(
        problems=tuple(docs.warnings + problems),
        process_key=chosen[1].get("id") if chosen else None,
        process_name=chosen[1].get("name") if chosen else None,
        content_hash=source.content_hash,
        files=tuple(docs.files),
    )


def _name_processes(docs: Documents, problems: list[Problem]) -> list[Problem]:
    """Locate "no executable process" at each process, by id, so the analyst sees which pools it means."""
    if not any(p.code == "no_executable_process" for p in problems):
        return problems
    located = [Problem("no_executable_process", f"the process '{p.get('id')}' is not executable "
                       "(isExecutable=\"false\"): it documents a pool and cannot be deployed",
                       element_id=p.get("id"), line=p.sourceline, file=name) for name, p in iter_processes(docs)
               if p.get(GLOBAL_TASK_ATTRIBUTE) != "true"]
    return [p for p in problems if p.code != "no_executable_process"] + (located or problems)


def _blocking(problems: list[Problem]) -> bool:
    """Whether SpiffWorkflow's parse would only repeat (or trip over) problems already found."""
    blocking = {"schema_error", "unsupported_element", "no_start_event", "parse_error", "missing_operation"}
    return any((p.code in blocking or p.code.startswith(constraints.CODE_PREFIX)) and p.severity == "error"
               for p in problems)


def _check_with_spiff(ctx: _Context, process_key: str) -> None:
    """Let SpiffWorkflow build the specs (schema already checked) and report what it raises."""
    for tree in ctx.docs.bpmn.values():
        rewrite_timers(tree)
    try:
        build_specs(ctx.docs, process_key, schema=False)
    except Exception as exc:
        ctx.problems.append(spiff_problem(exc, element_lines(ctx.docs.bpmn.values())))


def _check_constraints(ctx: _Context) -> None:
    """The static rules of the BPMN specification (`bpmn.constraints`), on every BPMN file as uploaded.

    The rules judge what the analyst wrote, so they read fresh trees: the ones in `ctx.docs` may
    already carry the engine's own rewrites (`prepare_trees`), which are not the analyst's doing.
    """
    # A file the schema already rejects would mostly get follow-on findings (a misspelt element is an
    # unknown node with "no incoming flow"), so there only the rules that read what they judge directly
    # run (`on_schema_errors`): they name the BPMN rule behind the bare XSD message.
    broken = {p.file for p in ctx.problems if p.code == "schema_error" and p.file}
    pristine = [(name, parse_xml(ctx.docs.files[name], name)) for name in ctx.docs.bpmn]
    # A rule finding is kept even where a generic check (unsupported element, expression syntax, no
    # start event) already rejected the same element: the generic problem says what Patchbay cannot
    # run, the rule says which BPMN constraint the model breaks.
    ctx.problems.extend(constraints.check(pristine, profile=ctx.profile, schema_invalid=broken))


# --- schema -------------------------------------------------------------------------------------


def _check_schema(ctx: _Context) -> None:
    for name, tree in ctx.docs.bpmn.items():
        ctx.problems.extend(_schema_problems(_bpmn_schema(), tree, name, bpmn=True))
    for name, tree in ctx.docs.dmn.items():
        schema = _dmn_schema(tree.getroot().nsmap.get(None) or tree.getroot().nsmap.get("dmn"))
        if schema is None:
            ctx.problems.append(Problem("schema_error", "not a DMN 1.1, 1.2 or 1.3 document", file=name,
                                        line=tree.getroot().sourceline))
        else:
            ctx.problems.extend(_schema_problems(schema, tree, name, bpmn=False))


def _bpmn_schema() -> Any:
    return VALIDATOR.validator


@cache
def _dmn_schema(namespace: str | None) -> Any:
    path = DMN_SCHEMAS.get(namespace or "")
    return BpmnValidator(path).validator if path else None


def _schema_problems(schema: Any, tree: Any, name: str, *, bpmn: bool) -> list[Problem]:
    """Every XSD error of one document (SpiffWorkflow's own validator stops at the first)."""
    renamed = _messagepath_workaround(tree) if bpmn else []
    try:
        with SCHEMA_LOCK:
            schema.validate(tree)
            entries = list(schema.error_log)
    finally:
        for element, tag in renamed:
            element.tag = tag
    # libxml2 reports a line, not an element: name the owner of the first element on that line.
    by_line: dict[int, Any] = {}
    for element in tree.iter():
        if isinstance(element.tag, str) and element.sourceline:
            by_line.setdefault(element.sourceline, element)
    problems = [
        Problem("schema_error", shorten_tags(entry.message), line=entry.line or None, file=name,
                element_id=_owner_id(by_line[entry.line]) if entry.line in by_line else None)
        for entry in entries[:MAX_SCHEMA_ERRORS]
    ]
    if len(entries) > MAX_SCHEMA_ERRORS:
        problems.append(Problem("schema_error", f"{len(entries) - MAX_SCHEMA_ERRORS} more schema errors",
                                file=name))
    return problems


def _messagepath_workaround(tree: Any) -> list[tuple[Any, str]]:
    # bpmn-js writes `formalExpression` where the schema wants `messagePath`; SpiffWorkflow's validator
    # renames it before validating (BpmnValidator.preprocess). Do the same, and undo it afterwards.
    path = "//bpmn:correlationPropertyRetrievalExpression/bpmn:formalExpression"
    renamed = [(element, element.tag) for element in bpmn_xpath(tree, path)]
    for element, _ in renamed:
        element.tag = f"{{{NSMAP['bpmn']}}}messagePath"
    return renamed


# --- elements -----------------------------------------------------------------------------------


def _check_elements(ctx: _Context) -> None:
    """Unsupported elements and missing start events, in executable processes only."""
    for name, container in _containers(ctx.docs):
        _check_start_events(ctx, name, container)
        for child in container:
            tag = local_name(child)
            if tag in _UNSUPPORTED_CHILDREN:
                ctx.add("unsupported_element", f"bpmn:{tag} is not supported: {_UNSUPPORTED_HINTS[tag]}",
                        child, name, element_id=child.get("id"))
        # A compensation start event elsewhere breaks a static rule (EXT.098, EXT.059), which says so.
        for path, tag in ((_COMPENSATION_EVENT_SUB_PROCESS_START, "compensateEventDefinition"),
                          ("./*", "linkEventDefinition"), (_ASSOCIATIONS, "assignment"),
                          (_ASSOCIATIONS, "transformation")):
            for definition in bpmn_xpath(container, f"{path}/bpmn:{tag}"):
                ctx.add("unsupported_element", _UNSUPPORTED_HINTS[tag], definition, name)


def _containers(docs: Documents) -> Iterator[tuple[str, Any]]:
    """Executable processes and every (event) sub-process / transaction inside them."""
    for name, tree in docs.bpmn.items():
        for element in tree.iter():
            if local_name(element) in _CONTAINERS and _in_executable(element):
                yield name, element


def _check_start_events(ctx: _Context, name: str, container: Any) -> None:
    # Direct children only: an event sub-process's start events do not start the process.
    if bpmn_xpath(container, "./bpmn:startEvent"):
        return
    kind = "process" if local_name(container) == "process" else "sub-process"
    ctx.add("no_start_event", f"the {kind} has no start event", container, name,
            element_id=container.get("id"))


# --- expressions, scripts, timers ---------------------------------------------------------------


def _check_texts(ctx: _Context) -> None:
    checkers: dict[str, Callable[[str], list[tuple[str, int | None]]]] = {
        "expression": check_expression, "script": check_script, "name": _check_name,
    }
    for name, tree in ctx.docs.bpmn.items():
        for path, kind in _TEXT_SITES:
            for element in tree.xpath(path, namespaces=NS):
                if _in_executable(element):
                    code = "invalid_script" if kind == "script" else "invalid_expression"
                    _report_text(ctx, name, element, element.text or "", checker=checkers[kind], code=code)
        for parameter in tree.xpath("//spiffworkflow:serviceTaskOperator//spiffworkflow:parameter[@value]",
                                    namespaces=NS):
            if _in_executable(parameter):
                _report_text(ctx, name, parameter, parameter.get("value"), checker=check_expression,
                             code="invalid_expression", what=f"parameter '{parameter.get('id')}'")
        _check_timers(ctx, name, tree)


def _report_text(ctx: _Context, name: str, element: Any, text: str, *,
                 checker: Callable[[str], list[tuple[str, int | None]]], code: str, what: str = "") -> None:
    if not text.strip():
        ctx.add(code, f"{what or 'bpmn:' + local_name(element)} is empty", element, name)
        return
    for message, offset in checker(text):
        line = element.sourceline + offset - 1 if offset and element.sourceline else None
        label = what or f"{local_name(element)}"
        ctx.add(code, f"{label}: {message}", element, name, line=line)


def _check_name(text: str) -> list[tuple[str, int | None]]:
    """Loop data references name a variable; SpiffWorkflow looks them up, it does not evaluate them."""
    return [] if text.strip().isidentifier() else [(f"'{text.strip()}' is not a variable name", None)]


def _check_timers(ctx: _Context, name: str, tree: Any) -> None:
    for definition in bpmn_xpath(tree, "//bpmn:timerEventDefinition"):
        if not _in_executable(definition):
            continue
        texts = [child for child in definition if local_name(child) in _TIMER_KINDS]
        if not texts:
            ctx.add("invalid_timer", "the timer has no timeDuration, timeDate or timeCycle", definition, name)
        for element in texts:
            kind = _TIMER_KINDS[local_name(element)]
            for message, offset in check_timer_text(element.text or "", kind):
                line = element.sourceline + offset - 1 if offset and element.sourceline else None
                ctx.add("invalid_timer", f"{local_name(element)}: {message}", element, name, line=line)


# --- service tasks and references ---------------------------------------------------------------


def _check_services(ctx: _Context) -> None:
    for name, tree in ctx.docs.bpmn.items():
        for task in bpmn_xpath(tree, "//bpmn:serviceTask"):
            if _in_executable(task):
                _check_service(ctx, name, task)


def _check_service(ctx: _Context, name: str, task: Any) -> None:
    path = "./bpmn:extensionElements/spiffworkflow:serviceTaskOperator"
    operators = task.xpath(path, namespaces=NS)
    operation = operators[0].get("id", "").strip() if operators else ""
    if not operation:
        message = "the service task names no operation (add a spiffworkflow:serviceTaskOperator with an id)"
        ctx.add("missing_operation", message, task, name, element_id=task.get("id"))
        return
    if ctx.operations is not None and operation not in ctx.operations:
        ctx.add("unknown_operation", f"unknown operation '{operation}'", operators[0], name)
    for parameter in operators[0].xpath(".//spiffworkflow:parameter[@value]", namespaces=NS):
        if not parameter.get("id") or not parameter.get("type"):
            # SpiffWorkflow's parser fails on these with a bare KeyError.
            ctx.add("parse_error", "a service task parameter needs an id and a type", parameter, name)


def _check_references(ctx: _Context) -> None:
    """Call activities and business rule tasks must name something in the upload."""
    processes = {p.get("id"): p for _, p in iter_processes(ctx.docs)}
    decisions = {decision.get("id") for tree in ctx.docs.dmn.values()
                 for decision in tree.xpath("//*[local-name()='decision']")}
    for name, tree in ctx.docs.bpmn.items():
        for call in bpmn_xpath(tree, "//bpmn:callActivity"):
            if _in_executable(call):
                _check_call(ctx, name, call, processes)
        for task in bpmn_xpath(tree, "//bpmn:businessRuleTask"):
            ref = task.xpath("string(./bpmn:extensionElements/spiffworkflow:calledDecisionId)", namespaces=NS)
            ref = ref.strip()
            if _in_executable(task) and ref not in decisions:
                message = (f"decision '{ref}' is not in the upload's DMN files" if ref else
                           "the business rule task names no decision (spiffworkflow:calledDecisionId)")
                ctx.add("parse_error", message, task, name, element_id=task.get("id"))


def _check_call(ctx: _Context, name: str, call: Any, processes: dict[str, Any]) -> None:
    called = call.get("calledElement")
    if not called:
        ctx.add("parse_error", "the call activity names no process (calledElement)", call, name)
    elif called not in processes:
        ctx.add("parse_error", f"the called process '{called}' is not in the upload", call, name)
    elif not is_executable(processes[called]):
        ctx.add("parse_error", f"the called process '{called}' is not executable", call, name)


# --- helpers ------------------------------------------------------------------------------------


def _in_executable(element: Any) -> bool:
    """False inside a process marked isExecutable="false" (documentation-only pools)."""
    for ancestor in (element, *element.iterancestors()):
        if local_name(ancestor) == "process":
            return is_executable(ancestor)
    return True  # definitions-level elements (messages, correlation properties) serve every process


def _owner_id(element: Any) -> str | None:
    """The id of the element an analyst would look for: the flow, task or event holding the text."""
    for candidate in (element, *element.iterancestors()):
        in_bpmn = isinstance(candidate.tag, str) and candidate.tag.startswith(f"{{{NSMAP['bpmn']}}}")
        if in_bpmn and candidate.get("id") and not local_name(candidate).endswith(_NOT_OWNERS):
            return str(candidate.get("id"))
    return None

