"""Building SpiffWorkflow specs from hardened, pre-parsed trees.

SpiffWorkflow never opens a file or a URL here: it gets lxml trees that `bpmn.loading` parsed with the
hardened parser. Before it sees them, timer texts that are ISO 8601 literals are quoted (SpiffWorkflow
evaluates every timer text as an expression). The stored upload itself is never changed: trees are
parsed afresh from its bytes for every compilation.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.event_parsers import SpiffBoundaryEventParser
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ScriptTaskParser, ServiceTaskParser

from bpmn.dialects import translate_dialects
from bpmn.errors import InvalidModel
from bpmn.loading import Documents, load_documents
from bpmn.semantics import rewrite_semantics
from bpmn.semantics.compensation import (
    CompensatingEndEvent,
    CompensatingThrowEvent,
    CompensationProcessParser,
    CompensationThrowEventParser,
    connect_handlers,
)
from bpmn.semantics.data import DataAssociationParserMixin
from bpmn.semantics.events import (
    ErrorThrowingScriptTask,
    InterruptingBoundaryEvent,
    InterruptingStartEvent,
    PatchbayEndEventParser,
    PatchbayStartEventParser,
)
from bpmn.semantics.gateways import ComplexGateway, ComplexGatewayParser
from bpmn.semantics.multi_instance import connect_loop_children, with_multi_instance
from bpmn.semantics.rewrite import GLOBAL_TASK_ATTRIBUTE
from bpmn.semantics.timers import use_catch_up_cycles
from bpmn.specs import ParkedServiceTask
from bpmn.timers import to_spiff_expression
from bpmn.types import ModelSource, Problem

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NSMAP = {"bpmn": BPMN_NS}
TIMER_TAGS = ("timeDuration", "timeDate", "timeCycle")

# SpiffWorkflow's parser recurses once or twice per sequence flow followed, so a chain of ~500
# activities overflows the default limit of 1,000. Specs are parsed in a worker thread with a large
# stack and, for the duration, a recursion limit sized to the model (see `run_with_deep_stack`).
_STACK_BYTES = 512 * 1024 * 1024
_FRAMES_PER_ELEMENT = 4
_BASE_FRAMES = 3_000
_DEEP_LOCK = threading.Lock()
# lxml schema objects keep their error log on the instance: one validation at a time.
SCHEMA_LOCK = threading.Lock()

T = TypeVar("T")


@dataclass(frozen=True)
class CompiledModel:
    """The SpiffWorkflow specs of a model, ready for the engine (internal to `bpmn`)."""

    process_key: str  # the executable process id
    process_name: str | None
    spec: Any  # SpiffWorkflow BpmnProcessSpec of the executable process
    subprocess_specs: dict[str, Any]  # every process / call-activity target it references, all files
    element_lines: dict[str, int]  # element id -> source line, for locating runtime problems


class _LockedValidator:
    """SpiffWorkflow's BPMN + spiffworkflow-extension XSD validator, used by one thread at a time."""

    def validate(self, bpmn: Any, filename: str | None = None) -> None:
        with SCHEMA_LOCK:
            VALIDATOR.validate(bpmn, filename)


_ACTIVITY_TAGS = ("task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
                  "businessRuleTask", "subProcess", "transaction", "callActivity")


def _with_patchbay_loops(classes: dict[str, Any]) -> dict[str, Any]:
    """Every activity parser reads multi-instance behavior (`bpmn.semantics.multi_instance`) and data
    associations (`bpmn.semantics.data`)."""
    out = dict(classes)
    for tag in map(full_tag, _ACTIVITY_TAGS):
        parser_class, spec_class = out.get(tag) or SpiffBpmnParser.PARSER_CLASSES[tag]
        with_data = type(f"Data{parser_class.__name__}", (DataAssociationParserMixin, parser_class), {})
        out[tag] = (with_multi_instance(with_data), spec_class)
    return out


class PatchbayParser(SpiffBpmnParser):
    """SpiffWorkflow's spiff-extension parser (with DMN) with Patchbay's task specs.

    Service tasks park instead of calling out; the event and script classes of `bpmn.semantics`
    close SpiffWorkflow's gaps (see their docstrings).
    """

    PROCESS_PARSER_CLASS = CompensationProcessParser
    OVERRIDE_PARSER_CLASSES = _with_patchbay_loops({
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (ServiceTaskParser, ParkedServiceTask),
        full_tag("scriptTask"): (ScriptTaskParser, ErrorThrowingScriptTask),
        full_tag("startEvent"): (PatchbayStartEventParser, InterruptingStartEvent),
        full_tag("endEvent"): (PatchbayEndEventParser, CompensatingEndEvent),
        full_tag("intermediateThrowEvent"): (CompensationThrowEventParser, CompensatingThrowEvent),
        full_tag("boundaryEvent"): (SpiffBoundaryEventParser, InterruptingBoundaryEvent),
        full_tag("complexGateway"): (ComplexGatewayParser, ComplexGateway),
    })


def bpmn_xpath(node: Any, path: str) -> list[Any]:
    """Evaluate `path` with the `bpmn` prefix bound."""
    result: list[Any] = node.xpath(path, namespaces=NSMAP)
    return result


def local_name(element: Any) -> str:
    """The tag of an element without its namespace ('' for comments and processing instructions)."""
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def shorten_tags(message: str) -> str:
    """`{http://www.omg.org/...MODEL}task` -> `bpmn:task` in messages meant for people."""
    return message.replace(f"{{{BPMN_NS}}}", "bpmn:").replace(f"{{{SPIFF_NS}}}", "spiffworkflow:")


def rewrite_timers(tree: Any) -> None:
    """Quote ISO 8601 timer literals in place so SpiffWorkflow evaluates them to strings."""
    for tag in TIMER_TAGS:
        for element in bpmn_xpath(tree, f"//bpmn:timerEventDefinition/bpmn:{tag}"):
            if element.text is not None:
                element.text = to_spiff_expression(element.text)


def prepare_trees(docs: Documents) -> list[Problem]:
    """Rewrite every BPMN tree in place into what SpiffWorkflow can run; the dialect problems found.

    Camunda 7/8 extensions are translated (`bpmn.dialects`), then `bpmn.semantics` rewrites apply.

    Runs on freshly parsed trees before validation's checks and before compilation, so both see
    the same model. Timer literals are quoted separately (`rewrite_timers`), just before SpiffWorkflow.
    """
    problems: list[Problem] = []
    for name, tree in docs.bpmn.items():
        problems.extend(translate_dialects(tree, name))
        rewrite_semantics(tree)
    return problems


def element_lines(trees: Iterable[Any]) -> dict[str, int]:
    """Element id -> source line over all trees (the first file wins when ids repeat across files)."""
    lines: dict[str, int] = {}
    for tree in trees:
        for element in tree.iter():
            element_id = element.get("id") if isinstance(element.tag, str) else None
            if element_id and element_id not in lines and element.sourceline:
                lines[element_id] = element.sourceline
    return lines


def iter_processes(docs: Documents) -> Iterator[tuple[str, Any]]:
    """(file name, process element) of every BPMN file, in file then document order."""
    for name, tree in docs.bpmn.items():
        for process in bpmn_xpath(tree, "//bpmn:process"):
            yield name, process


def is_executable(process: Any) -> bool:
    """SpiffWorkflow's reading of `isExecutable`: anything but an explicit "false" is executable."""
    return bool(process.get("isExecutable", "true") == "true")


def called_elements(docs: Documents) -> set[str]:
    """Ids named by every call activity of every file."""
    return {
        called
        for tree in docs.bpmn.values()
        for called in bpmn_xpath(tree, "//bpmn:callActivity/@calledElement")
    }


def choose_process(docs: Documents) -> tuple[tuple[str, Any] | None, list[Problem]]:
    """The executable process to run: the one no call activity references (warning when ambiguous)."""
    # A process made from a global task (`bpmn.semantics.rewrite.globalize_tasks`) only runs when called.
    executable = [(name, p) for name, p in iter_processes(docs)
                  if is_executable(p) and p.get(GLOBAL_TASK_ATTRIBUTE) != "true"]
    if not executable:
        return None, [Problem("no_executable_process", "the model has no executable process "
                              "(set isExecutable=\"true\" on the process to run)")]
    called = called_elements(docs)
    roots = [(name, p) for name, p in executable if p.get("id") not in called] or executable
    chosen = roots[0]
    problems = []
    if len(roots) > 1:
        others = ", ".join(str(p.get("id")) for _, p in roots[1:])
        problems.append(Problem(
            "ambiguous_process", f"several executable processes; running '{chosen[1].get('id')}', "
            f"not {others}", element_id=chosen[1].get("id"), line=chosen[1].sourceline, file=chosen[0],
            severity="warning",
        ))
    return chosen, problems


def run_with_deep_stack(fn: Callable[[], T], *, elements: int) -> T:
    """Run `fn` in a thread with a large stack and a recursion limit sized for `elements` elements.

    The recursion limit is interpreter-wide, so raises are serialized and undone afterwards; the
    stack size only applies to the thread created here.
    """
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    with _DEEP_LOCK:
        old_limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(old_limit, _BASE_FRAMES + _FRAMES_PER_ELEMENT * elements))
        try:
            old_stack = threading.stack_size(_STACK_BYTES)
            try:
                worker = threading.Thread(target=target, name="bpmn-parse", daemon=True)
                worker.start()
            finally:
                threading.stack_size(old_stack)
            worker.join()
        finally:
            sys.setrecursionlimit(old_limit)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]


def build_specs(docs: Documents, process_key: str, *, schema: bool = True) -> tuple[Any, dict[str, Any]]:
    """Feed the trees to SpiffWorkflow and return (spec, subprocess specs) of `process_key`.

    `schema=False` skips SpiffWorkflow's XSD check (the validation report runs its own, collecting
    every error instead of the first). Raises whatever SpiffWorkflow raises.
    """
    parser = PatchbayParser(validator=_LockedValidator() if schema else None)
    for name, tree in docs.bpmn.items():
        parser.add_bpmn_xml(tree, filename=name)
    for name, tree in docs.dmn.items():
        parser.add_dmn_xml(tree.getroot(), filename=name)
    elements = sum(1 for tree in docs.bpmn.values() for _ in tree.iter())

    def parse() -> tuple[Any, dict[str, Any]]:
        spec = parser.get_spec(process_key)
        subprocess_specs = parser.get_subprocess_specs(process_key)
        connect_loop_children([spec, *subprocess_specs.values()])
        connect_handlers([spec, *subprocess_specs.values()])
        use_catch_up_cycles([spec, *subprocess_specs.values()])
        return spec, subprocess_specs

    return run_with_deep_stack(parse, elements=elements)


def spiff_problem(exc: BaseException, lines: dict[str, int]) -> Problem:
    """A `parse_error` problem from whatever SpiffWorkflow raised, located by element id when known."""
    if isinstance(exc, ValidationException):
        element_id = getattr(exc, "id", "") or None
        line = getattr(exc, "line_number", None)
        if not isinstance(line, int) or line <= 0:  # SpiffWorkflow looks for a `line_number` lxml lacks
            line = lines.get(element_id) if element_id else None
        tag = getattr(exc, "tag", "")
        message = shorten_tags(str(exc.args[0]) if exc.args else str(exc))
        message = f"{message} ({tag})" if tag and tag not in message else message
        return Problem("parse_error", message, element_id=element_id, line=line,
                       file=getattr(exc, "file_name", "") or None)
    if isinstance(exc, RecursionError):
        return Problem("parse_error", "the model is too deeply connected to parse")
    return Problem("parse_error", f"{type(exc).__name__}: {exc}")


def compile_model(source: ModelSource) -> CompiledModel:
    """Parse an upload into SpiffWorkflow specs; raises `InvalidModel` if it cannot be run.

    Pure and deterministic: the same bytes give equal results, and nothing in the model is executed.
    Use `bpmn.validate` for the full list of problems; this stops at the first one SpiffWorkflow finds.
    """
    docs = load_documents(source)
    unsupported = [p for p in prepare_trees(docs) if p.severity == "error"]
    if unsupported:
        raise InvalidModel(unsupported)
    chosen, problems = choose_process(docs)
    if chosen is None:
        raise InvalidModel(problems)
    for tree in docs.bpmn.values():
        rewrite_timers(tree)
    lines = element_lines(docs.bpmn.values())
    process = chosen[1]
    try:
        spec, subprocess_specs = build_specs(docs, process.get("id"))
    except Exception as exc:
        raise InvalidModel([spiff_problem(exc, lines)]) from exc
    return CompiledModel(
        process_key=process.get("id"),
        process_name=process.get("name"),
        spec=spec,
        subprocess_specs=subprocess_specs,
        element_lines=lines,
    )
