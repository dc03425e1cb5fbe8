"""Human tasks as the worklist needs them: who may work on them, when they are due, and their form.

`human_task_specs(source)` reads every user and manual task of a model (hardened loader, cached by
content hash) into a `HumanTaskSpec`; `resolve(spec, variables, now=...)` turns its assignment texts
into values for one instance. Pure: standard library, lxml and `bpmn.*` only.

Where assignment comes from (first source that names something wins, per attribute):

* candidate groups: `camunda:candidateGroups`, else the spiffworkflow property `candidateGroups`,
  else the name (or id) of the innermost lane holding the task;
* candidate users: `camunda:candidateUsers`, else property `candidateUsers`;
* assignee: `camunda:assignee`, else property `assignee`;
* due date: `camunda:dueDate`, else property `dueDate` - an ISO 8601 duration counted from the
  moment the work item opens (`P2D`, `PT4H`, `P1M`) or a date-time (`2026-12-01T09:00:00Z`);
* priority: `camunda:priority`, else property `priority` - an integer (default 50, as in Camunda).

Any of these may be dynamic. Two documented syntaxes, both evaluated by the restricted language
(`bpmn.expressions.evaluate`) against the instance variables:

* `${...}` (Camunda): `${region}_sales` interpolates; a value that is exactly one `${expr}` yields
  the expression's value (a list of groups, a date ...). `${a.b}` looks up nested dictionaries.
  Braces cannot appear inside `${...}`.
* `=expr` (as in Zeebe): the whole rest of the value is one expression, e.g.
  `='vip_sales' if amount > 10000 else 'sales'`.

Lists (groups, users) are comma separated; an expression may also return a list.

Forms: the spiffworkflow properties `formJsonSchemaFilename` / `formUiSchemaFilename` name JSON files
shipped in the same zip; Camunda generated forms (`camunda:formData` / `camunda:formField`) are
converted to JSON Schema plus a UI schema. A broken or missing form file raises `InvalidModel`.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from bpmn.errors import ExpressionError, InvalidModel
from bpmn.expressions import check_expression, evaluate
from bpmn.loading import file_kind, parse_xml, read_files
from bpmn.parser import BPMN_NS, SPIFF_NS
from bpmn.types import ModelSource, Problem

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
_NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS, "spiffworkflow": SPIFF_NS}
DEFAULT_PRIORITY = 50  # Camunda's default task priority
MAX_FORM_BYTES = 512 * 1024
MAX_FORM_DEPTH = 32
MAX_NAME_LENGTH = 150  # Django's group name and username length
CACHE_SIZE = 256

FormKind = Literal["json_schema", "camunda"]
_INTERPOLATION = re.compile(r"\$\{([^{}]*)\}")
_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
_CAMUNDA_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "long": {"type": "integer"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "enum": {"type": "string"},
}
_CONSTRAINTS = {"minlength": "minLength", "maxlength": "maxLength", "min": "minimum", "max": "maximum"}


@dataclass(frozen=True)
class FormSpec:
    """A task's form: JSON Schema, UI schema (react-jsonschema-form conventions) and read-only fields."""

    kind: FormKind
    schema: dict[str, Any]
    ui_schema: dict[str, Any] = field(default_factory=dict)
    read_only: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The JSON stored with a work item: `kind`, `schema`, `ui_schema`, `read_only`."""
        return {"kind": self.kind, "schema": self.schema, "ui_schema": self.ui_schema,
                "read_only": list(self.read_only)}


@dataclass(frozen=True)
class HumanTaskSpec:
    """A user or manual task's assignment texts (unresolved; may hold expressions) and its form."""

    activity_id: str
    name: str
    lane: str | None = None
    candidate_groups: str | None = None
    candidate_users: str | None = None
    assignee: str | None = None
    due_date: str | None = None
    priority: str | None = None
    form: FormSpec | None = None


@dataclass(frozen=True)
class ResolvedAssignment:
    """Assignment of one work item, evaluated against the instance's variables."""

    candidate_groups: list[str]
    candidate_users: list[str]
    assignee: str | None
    due_at: datetime | None
    priority: int


# -- reading the model -----------------------------------------------------------------------------

_cache_lock = threading.Lock()
_cache: OrderedDict[str, dict[str, HumanTaskSpec] | InvalidModel] = OrderedDict()


def human_task_specs(source: ModelSource) -> dict[str, HumanTaskSpec]:
    """Every user and manual task of the model (all processes, all files) by activity id.

    Cached per content hash (LRU). Raises `InvalidModel` listing every broken form, unknown form
    field type or constraint, or expression the restricted language rejects.
    """
    key = source.content_hash
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
    if cached is None:
        try:
            cached = _read_specs(source)
        except InvalidModel as exc:
            cached = exc
        with _cache_lock:
            _cache[key] = cached
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    if isinstance(cached, InvalidModel):
        raise cached
    return dict(cached)


def human_task_problems(source: ModelSource) -> list[Problem]:
    """The problems `human_task_specs` would raise (for upload validation); empty when none."""
    try:
        human_task_specs(source)
    except InvalidModel as exc:
        return list(exc.problems)
    return []


def _read_specs(source: ModelSource) -> dict[str, HumanTaskSpec]:
    files = read_files(source)
    specs: dict[str, HumanTaskSpec] = {}
    problems: list[Problem] = []
    for name, content in files.items():
        if file_kind(name) != "bpmn":
            continue
        tree = parse_xml(content, name)
        lanes = _lanes_by_node(tree)
        for task in tree.xpath("//bpmn:userTask | //bpmn:manualTask", namespaces=_NS):
            activity_id = task.get("id")
            if activity_id and activity_id not in specs:
                specs[activity_id] = _task_spec(task, lanes.get(activity_id), files, name, problems)
    if problems:
        raise InvalidModel(problems)
    return specs


def _lanes_by_node(tree: Any) -> dict[str, str]:
    """Flow node id -> name of the innermost lane holding it (deeper lanes are visited later)."""
    lanes: dict[str, str] = {}
    for lane in tree.xpath("//bpmn:lane", namespaces=_NS):
        label = (lane.get("name") or lane.get("id") or "").strip()
        for ref in lane.xpath("bpmn:flowNodeRef", namespaces=_NS):
            if ref.text and label:
                lanes[ref.text.strip()] = label
    return lanes


def _task_spec(task: Any, lane: str | None, files: dict[str, bytes], filename: str,
               problems: list[Problem]) -> HumanTaskSpec:
    activity_id = str(task.get("id"))
    props = _spiff_properties(task)

    def pick(attribute: str, prop: str) -> str | None:
        value = task.get(f"{{{CAMUNDA_NS}}}{attribute}") or props.get(prop)
        value = value.strip() if value else None
        if value:
            problems.extend(_expression_problems(value, activity_id, task.sourceline, filename))
        return value or None

    spec = HumanTaskSpec(
        activity_id=activity_id,
        name=task.get("name") or activity_id,
        lane=lane,
        candidate_groups=pick("candidateGroups", "candidateGroups"),
        candidate_users=pick("candidateUsers", "candidateUsers"),
        assignee=pick("assignee", "assignee"),
        due_date=pick("dueDate", "dueDate"),
        priority=pick("priority", "priority"),
    )
    form = _form(task, props, files, filename, problems)
    return spec if form is None else _with_form(spec, form)


def _with_form(spec: HumanTaskSpec, form: FormSpec) -> HumanTaskSpec:
    return HumanTaskSpec(**{**spec.__dict__, "form": form})


def _spiff_properties(task: Any) -> dict[str, str]:
    found = task.xpath("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", namespaces=_NS)
    return {str(p.get("name")): str(p.get("value") or "") for p in found if p.get("name")}


def _expression_problems(value: str, activity_id: str, line: int | None, filename: str) -> list[Problem]:
    texts = [value[1:]] if value.startswith("=") else [
        m for m in _INTERPOLATION.findall(value) if not _PATH.fullmatch(m.strip())
    ]
    return [
        Problem("invalid_expression", f"{message}: {text!r}", element_id=activity_id,
                line=line, file=filename)
        for text in texts
        for message, _ in check_expression(text)
    ]


# -- forms -----------------------------------------------------------------------------------------

def _form(task: Any, props: dict[str, str], files: dict[str, bytes], filename: str,
          problems: list[Problem]) -> FormSpec | None:
    activity_id = str(task.get("id"))

    def problem(message: str, file: str | None = None, line: int | None = None) -> None:
        problems.append(Problem("invalid_form", message, element_id=activity_id,
                                line=line if file else task.sourceline, file=file or filename))

    schema_file = props.get("formJsonSchemaFilename")
    if schema_file:
        schema = _json_file(schema_file, files, problem)
        ui_file = props.get("formUiSchemaFilename")
        ui_schema = _json_file(ui_file, files, problem) if ui_file else {}
        if schema is None or ui_schema is None:
            return None
        return FormSpec("json_schema", schema, ui_schema, _read_only(schema))
    form_data = task.xpath("bpmn:extensionElements/camunda:formData", namespaces=_NS)
    if form_data:
        return _camunda_form(form_data[0], problem)
    return None


def _read_only(schema: dict[str, Any]) -> tuple[str, ...]:
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return ()
    return tuple(k for k, v in properties.items() if isinstance(v, dict) and v.get("readOnly") is True)


class _FormFileError(Exception):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def _json_file(name: str, files: dict[str, bytes], problem: Any) -> dict[str, Any] | None:
    """Load a form file shipped with the model (by path, else by base name); `problem` on failure."""
    matches = [n for n in files if n == name] or [n for n in files if n.rsplit("/", 1)[-1] == name]
    if len(matches) != 1:
        why = "is not in the upload (ship it in the same .zip)" if not matches else "is ambiguous in the upload"
        problem(f"form file {name!r} {why}")
        return None
    try:
        return _parse_json(files[matches[0]])
    except _FormFileError as exc:
        problem(str(exc), matches[0], exc.line)
        return None


def _parse_json(content: bytes) -> dict[str, Any]:
    """A JSON object from a form file: size- and depth-capped; `_FormFileError` otherwise."""
    too_deep = f"form file nests deeper than {MAX_FORM_DEPTH} levels"
    if len(content) > MAX_FORM_BYTES:
        raise _FormFileError(f"form file exceeds {MAX_FORM_BYTES // 1024} KB")
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise _FormFileError("form file is not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        message = f"form file is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        raise _FormFileError(message, exc.lineno) from exc
    except RecursionError as exc:  # the decoder's own limit, far deeper than ours
        raise _FormFileError(too_deep) from exc
    if _depth(data) > MAX_FORM_DEPTH:
        raise _FormFileError(too_deep)
    if not isinstance(data, dict):
        raise _FormFileError("form file must hold a JSON object")
    return data


def _depth(value: Any) -> int:
    """Nesting depth of JSON data, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > MAX_FORM_DEPTH:
            return deepest
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, level + 1) for child in children)
    return deepest


def _camunda_form(form_data: Any, problem: Any) -> FormSpec | None:
    """Convert `camunda:formData` to JSON Schema (`additionalProperties: false`) and a UI schema."""
    schema: dict[str, Any] = {"type": "object", "properties": {}, "required": [], "additionalProperties": False}
    ui_schema: dict[str, Any] = {"ui:order": []}
    read_only: list[str] = []
    ok = True
    for form_field in form_data.xpath("camunda:formField", namespaces=_NS):
        field_id = (form_field.get("id") or "").strip()
        if not field_id:
            problem("a camunda:formField has no id")
            ok = False
            continue
        converted = _camunda_field(form_field, field_id, problem)
        if converted is None:
            ok = False
            continue
        prop, ui, required, readonly = converted
        schema["properties"][field_id] = prop
        ui_schema["ui:order"].append(field_id)
        if ui:
            ui_schema[field_id] = ui
        if required:
            schema["required"].append(field_id)
        if readonly:
            read_only.append(field_id)
    return FormSpec("camunda", schema, ui_schema, tuple(read_only)) if ok else None


def _camunda_field(element: Any, field_id: str,
                   problem: Any) -> tuple[dict[str, Any], dict[str, Any], bool, bool] | None:
    kind = (element.get("type") or "string").strip()
    if kind not in _CAMUNDA_TYPES:
        problem(f"form field {field_id!r}: unsupported type {kind!r} "
                f"(use {', '.join(_CAMUNDA_TYPES)})", line=element.sourceline)
        return None
    prop = {**_CAMUNDA_TYPES[kind], "title": element.get("label") or field_id}
    ui: dict[str, Any] = {}
    if kind == "enum":
        values = element.xpath("camunda:value", namespaces=_NS)
        prop["enum"] = [v.get("id") for v in values]
        ui["ui:enumNames"] = [v.get("name") or v.get("id") for v in values]
    if kind == "date":
        ui["ui:widget"] = "date"
    default = element.get("defaultValue")
    if default is not None:
        prop["default"] = _typed(default, kind)
    required = readonly = False
    for constraint in element.xpath("camunda:validation/camunda:constraint", namespaces=_NS):
        name, config = (constraint.get("name") or "").strip(), constraint.get("config")
        if name == "required":
            required = True
        elif name == "readonly":
            readonly = True
            prop["readOnly"] = True
            ui["ui:readonly"] = True
        elif name in _CONSTRAINTS and config is not None and _is_number(config):
            prop[_CONSTRAINTS[name]] = int(float(config)) if name.endswith("length") else _number(config)
        else:
            problem(f"form field {field_id!r}: unsupported constraint {name!r} (config {config!r})",
                    line=constraint.sourceline)
            return None
    return prop, ui, required, readonly


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() else value


def _typed(text: str, kind: str) -> Any:
    if kind == "long" and re.fullmatch(r"-?\d+", text.strip()):
        return int(text)
    if kind == "boolean":
        return text.strip().lower() == "true"
    return text


# -- resolving assignment --------------------------------------------------------------------------

def resolve(spec: HumanTaskSpec, variables: dict[str, Any], *, now: datetime) -> ResolvedAssignment:
    """Evaluate the spec's assignment for one work item opening at `now` (aware UTC).

    Candidate groups fall back to the task's lane when the model names none. Raises
    `ExpressionError` (with the activity id) when an expression fails or yields an unusable value.
    """
    where = spec.activity_id
    groups = _names(spec.candidate_groups, variables, where)
    if not groups and spec.lane:
        groups = [spec.lane]
    assignee = _names(spec.assignee, variables, where)
    if len(assignee) > 1:
        raise ExpressionError(f"assignee must be one user, got {assignee!r}", element_id=where)
    return ResolvedAssignment(
        candidate_groups=groups,
        candidate_users=_names(spec.candidate_users, variables, where),
        assignee=assignee[0] if assignee else None,
        due_at=_due_at(spec.due_date, variables, where, now),
        priority=_priority(spec.priority, variables, where),
    )


def evaluate_text(text: str, variables: dict[str, Any], element_id: str) -> Any:
    """The value of an assignment text: `=expr`, a single `${expr}`, interpolated text, or the text."""
    if text.startswith("="):
        return evaluate(text[1:].strip(), variables, element_id=element_id)
    whole = _INTERPOLATION.fullmatch(text.strip())
    if whole:
        return _placeholder(whole.group(1), variables, element_id)
    return _INTERPOLATION.sub(lambda m: str(_placeholder(m.group(1), variables, element_id)), text)


def _placeholder(inner: str, variables: dict[str, Any], element_id: str) -> Any:
    inner = inner.strip()
    if not _PATH.fullmatch(inner):
        return evaluate(inner, variables, element_id=element_id)
    value: Any = variables
    for part in inner.split("."):
        if not isinstance(value, dict) or part not in value:
            raise ExpressionError(f"${{{inner}}}: no variable {part!r}", element_id=element_id)
        value = value[part]
    return value


def _split(text: str) -> list[str]:
    """Split a comma list, keeping commas inside `${...}`; `=expr` is one part."""
    if text.startswith("="):
        return [text]
    parts, depth, current = [], 0, ""
    for index, char in enumerate(text):
        if char == "{" and text[index - 1 : index] == "$":
            depth += 1
        elif char == "}" and depth:
            depth -= 1
        if char == "," and not depth:
            parts.append(current)
            current = ""
        else:
            current += char
    return [p.strip() for p in [*parts, current] if p.strip()]


def _names(text: str | None, variables: dict[str, Any], where: str) -> list[str]:
    names: list[str] = []
    for part in _split(text or ""):
        value = evaluate_text(part, variables, where)
        items = value if isinstance(value, list | tuple) else str(value).split(",") if value is not None else []
        for item in items:
            if not isinstance(item, str):
                raise ExpressionError(f"expected names, got {type(item).__name__}", element_id=where)
            name = item.strip()
            if len(name) > MAX_NAME_LENGTH:
                raise ExpressionError(f"name longer than {MAX_NAME_LENGTH} characters", element_id=where)
            if name and name not in names:
                names.append(name)
    return names


def _priority(text: str | None, variables: dict[str, Any], where: str) -> int:
    if not text:
        return DEFAULT_PRIORITY
    value = evaluate_text(text, variables, where)
    try:
        number = int(str(value).strip()) if not isinstance(value, bool) else None
    except ValueError:
        number = None
    if number is None or not -(2**31) <= number < 2**31:
        raise ExpressionError(f"priority must be an integer, got {value!r}", element_id=where)
    return number


def _due_at(text: str | None, variables: dict[str, Any], where: str, now: datetime) -> datetime | None:
    if not text:
        return None
    value = evaluate_text(text, variables, where)
    if value is None or value == "":
        return None
    if isinstance(value, timedelta):
        return now + value
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        due = _from_iso(value.strip(), now)
        if due is not None:
            return due
    raise ExpressionError(f"due date must be an ISO 8601 duration or date-time, got {value!r}", element_id=where)


_ISO_DURATION = re.compile(
    r"P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?"
)


def _from_iso(text: str, now: datetime) -> datetime | None:
    """`now` plus an ISO 8601 duration (calendar months and years), or an ISO date-time; None otherwise."""
    match = _ISO_DURATION.fullmatch(text.upper())
    if match and text.upper() not in ("P", "PT") and not text.upper().endswith("T"):
        parts = {k: int(v) for k, v in match.groupdict().items() if v}
        moved = _add_months(now, 12 * parts.pop("years", 0) + parts.pop("months", 0))
        return moved + timedelta(**parts)
    try:
        parsed = datetime.fromisoformat(text) if len(text) <= 64 else None
    except ValueError:
        return None
    if parsed is None:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _add_months(moment: datetime, months: int) -> datetime:
    if not months:
        return moment
    total = moment.month - 1 + months
    year, month = moment.year + total // 12, total % 12 + 1
    for day in (moment.day, 30, 29, 28):  # clamp 31 Jan + P1M to the end of February
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return moment.replace(year=year, month=month, day=28)


__all__ = [
    "CAMUNDA_NS",
    "DEFAULT_PRIORITY",
    "FormSpec",
    "HumanTaskSpec",
    "ResolvedAssignment",
    "evaluate_text",
    "human_task_problems",
    "human_task_specs",
    "resolve",
]
