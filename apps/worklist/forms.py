"""Work item forms: what a renderer needs, and validation of submitted data with field errors.

A work item's `form` is `{"kind", "schema", "ui_schema", "read_only"}` (from `bpmn.human_tasks`):
JSON Schema (draft 2020-12, with format checks such as `date`) and a react-jsonschema-form style UI
schema. Items without a form accept any JSON object of variables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError

from apps.worklist.models import WorkItem

MAX_FIELD_ERRORS = 50


@dataclass(frozen=True)
class FieldError:
    """One problem with a submitted field: the error detail shape `{"field", "code", "message"}`."""

    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """The API's detail entry."""
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class FormView:
    """A form ready to render: kind (`json_schema`, `camunda` or `none`), schemas and current values."""

    kind: str
    schema: dict[str, Any]
    ui_schema: dict[str, Any]
    values: dict[str, Any]
    read_only: list[str] = field(default_factory=list)


def _properties(form: dict[str, Any]) -> dict[str, Any]:
    schema = form.get("schema") or {}
    properties = schema.get("properties") if isinstance(schema, dict) else None
    return properties if isinstance(properties, dict) else {}


def form_values(form: dict[str, Any], variables: dict[str, Any]) -> dict[str, Any]:
    """Current values of the form's top-level fields: the instance variable, else the field's default."""
    values: dict[str, Any] = {}
    for name, prop in _properties(form).items():
        if name in variables:
            values[name] = variables[name]
        elif isinstance(prop, dict) and "default" in prop:
            values[name] = prop["default"]
    return values


def work_item_form(*, work_item: WorkItem, variables: dict[str, Any] | None = None) -> FormView:
    """The item's form with current values (from `variables`, default: the instance's variables).

    The caller has passed the access gate for `work_item` already.
    """
    form = work_item.form or {}
    if variables is None:
        variables = work_item.instance.variables if form else {}
    return FormView(
        kind=str(form.get("kind", "none")),
        schema=dict(form.get("schema") or {}),
        ui_schema=dict(form.get("ui_schema") or {}),
        values=form_values(form, variables or {}),
        read_only=list(form.get("read_only") or []),
    )


def form_validate(*, form: dict[str, Any], data: dict[str, Any], current: dict[str, Any] | None = None) -> list[
    FieldError
]:
    """Check submitted `data` against the form; `[]` when it passes (or there is no form).

    Read-only fields may be submitted only with their current value (`current`: the instance's
    variables; the field's default when absent). Errors are sorted by field and capped.
    """
    if not form or not isinstance(form.get("schema"), dict):
        return []
    schema = form["schema"]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return [FieldError("non_field_errors", "invalid_schema", f"the form's schema is invalid: {exc.message}")]
    errors = _read_only_errors(form, data, current or {})
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    for error in validator.iter_errors(data):
        errors.extend(_field_errors(error))
        if len(errors) >= MAX_FIELD_ERRORS:
            break
    return sorted(errors, key=lambda e: (e.field, e.code))[:MAX_FIELD_ERRORS]


def _read_only_errors(form: dict[str, Any], data: dict[str, Any], current: dict[str, Any]) -> list[FieldError]:
    now = form_values(form, current)
    return [
        FieldError(name, "read_only", "this field is read-only")
        for name in form.get("read_only") or []
        if name in data and data[name] != now.get(name)
    ]


def _field_errors(error: ValidationError) -> list[FieldError]:
    """One jsonschema error as field errors: missing and unexpected fields are named one by one."""
    path = ".".join(str(part) for part in error.absolute_path)

    def under(name: str) -> str:
        return f"{path}.{name}" if path else name

    instance = error.instance if isinstance(error.instance, dict) else {}
    if error.validator == "required":
        missing = [n for n in error.validator_value if n not in instance]
        return [FieldError(under(n), "required", "this field is required") for n in missing]
    if error.validator == "additionalProperties":
        known = set((error.schema or {}).get("properties", {}))
        extra = sorted(n for n in instance if n not in known)
        return [FieldError(under(n), "unexpected", "the form has no such field") for n in extra]
    return [FieldError(path or "non_field_errors", str(error.validator), error.message)]
