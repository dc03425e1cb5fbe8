"""Server-side rendering and parsing of work item forms described by JSON Schema + UI schema.

`build_fields` turns the worklist's `FormView` (schema, ui_schema, values) into `FieldView`s that a
template renders as labelled inputs: string, integer/number, boolean, date, enum, long text and
(for anything else) JSON. `parse_submission` turns the POSTed strings back into typed JSON values;
what cannot be converted (a letter in a number field) is reported per field and nothing is submitted.
The worklist's validator (`form_validate`, run by `work_item_complete`) then checks the values
against the schema; its field errors are shown beside the same fields.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from apps.worklist.forms import FormView

PREFIX = "var__"  # POST names: no clash with csrfmiddlewaretoken or other controls
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class FieldView:
    """One input of a work item form, ready for `ui/inbox/_field.html`."""

    name: str
    label: str
    widget: str  # text, textarea, integer, number, checkbox, date, select, radio, json
    required: bool = False
    read_only: bool = False
    help: str = ""
    value: str = ""
    checked: bool = False
    options: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def input_name(self) -> str:
        """The POST name of the input."""
        return PREFIX + self.name

    @property
    def input_id(self) -> str:
        """A safe HTML id for the input (labels and error messages refer to it)."""
        return "f_" + _ID_UNSAFE.sub("_", self.name)


def _properties(schema: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    props = schema.get("properties")
    return {k: v for k, v in props.items() if isinstance(v, dict)} if isinstance(props, dict) else {}


def field_order(schema: Mapping[str, Any], ui_schema: Mapping[str, Any]) -> list[str]:
    """Property names in `ui:order` order (a `*` or the end takes the rest, in schema order)."""
    names = list(_properties(schema))
    order = [n for n in ui_schema.get("ui:order") or [] if n in names or n == "*"]
    rest = [n for n in names if n not in order]
    if "*" in order:
        at = order.index("*")
        return order[:at] + rest + order[at + 1:]
    return order + rest


_SIMPLE_WIDGETS = {"boolean": "checkbox", "integer": "integer", "number": "number"}


def _widget(prop: Mapping[str, Any], ui: Mapping[str, Any]) -> str:
    """The input kind for a property: the UI schema's `ui:widget` hint first, then the JSON type."""
    hint = ui.get("ui:widget")
    kind = prop.get("type")
    if "enum" in prop:
        return "radio" if hint == "radio" else "select"
    if kind == "string":
        if hint in ("textarea", "date"):
            return str(hint)
        return "date" if prop.get("format") == "date" else "text"
    return _SIMPLE_WIDGETS.get(str(kind), "json")


def _display(value: Any, widget: str) -> str:
    if value is None:
        return ""
    if widget == "json":
        return json.dumps(value, indent=2, ensure_ascii=False)
    return str(value)


def _options(prop: Mapping[str, Any], ui: Mapping[str, Any]) -> list[tuple[str, str]]:
    values = [str(v) for v in prop.get("enum") or []]
    names = ui.get("ui:enumNames") or []
    labels = [str(names[i]) if i < len(names) else v for i, v in enumerate(values)]
    return list(zip(values, labels, strict=True))


def _attrs(prop: Mapping[str, Any], ui: Mapping[str, Any]) -> dict[str, Any]:
    """HTML constraint hints (the server validates anyway)."""
    mapping = {"minimum": "min", "maximum": "max", "minLength": "minlength", "maxLength": "maxlength"}
    attrs = {html: prop[key] for key, html in mapping.items() if key in prop}
    if ui.get("ui:placeholder"):
        attrs["placeholder"] = str(ui["ui:placeholder"])
    if prop.get("type") == "number":
        attrs["step"] = "any"
    return attrs


def build_fields(form: FormView, *, values: Mapping[str, Any] | None = None,
                 errors: Mapping[str, list[str]] | None = None) -> list[FieldView]:
    """The form's fields with current (or re-submitted) values and their errors."""
    props = _properties(form.schema)
    required = set(form.schema.get("required") or [])
    current = form.values if values is None else values
    out = []
    for name in field_order(form.schema, form.ui_schema):
        prop = props[name]
        hints = form.ui_schema.get(name)
        ui: dict[str, Any] = hints if isinstance(hints, dict) else {}
        widget = _widget(prop, ui)
        value = current.get(name)
        out.append(FieldView(
            name=name,
            label=str(ui.get("ui:title") or prop.get("title") or name),
            widget=widget,
            required=name in required,
            read_only=bool(prop.get("readOnly") or ui.get("ui:readonly") or name in form.read_only),
            help=str(ui.get("ui:help") or prop.get("description") or ""),
            value=_display(value, widget),
            checked=value is True,
            options=_options(prop, ui),
            errors=list((errors or {}).get(name, [])),
            attrs=_attrs(prop, ui),
        ))
    return out


def _convert(raw: str, prop: Mapping[str, Any], widget: str) -> Any:
    """One submitted string as the JSON value its property wants; ValueError with a readable reason."""
    kind = prop.get("type")
    if widget == "json":
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc.msg}") from exc
    if kind == "integer":
        if not re.fullmatch(r"\s*-?\d+\s*", raw):
            raise ValueError("enter a whole number")
        return int(raw)
    if kind == "number":
        try:
            number = float(raw)
        except ValueError as exc:
            raise ValueError("enter a number") from exc
        return int(number) if number.is_integer() and "." not in raw else number
    return raw


def parse_submission(form: FormView, post: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The submitted values as typed JSON, and the fields whose text could not be converted.

    Read-only fields are not submitted (the engine keeps their value); an empty optional input is
    left out rather than sent as "" (the schema's `required` decides whether that is allowed).
    """
    props = _properties(form.schema)
    data: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for view in build_fields(form):
        if view.read_only:
            continue
        if view.widget == "checkbox":
            data[view.name] = post.get(view.input_name) == "on"
            continue
        raw = str(post.get(view.input_name, ""))
        if not raw.strip():
            continue
        try:
            data[view.name] = _convert(raw, props[view.name], view.widget)
        except ValueError as exc:
            errors[view.name] = [str(exc)]
    return data, errors


def errors_by_field(details: list[Any], known: set[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Service error details (`{"field", "message"}`) grouped by top-level field; the rest as form errors."""
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for detail in details:
        if not isinstance(detail, dict):
            continue
        name = str(detail.get("field") or "").split(".", 1)[0].split("[", 1)[0]
        message = str(detail.get("message") or detail.get("code") or "invalid")
        if name in known:
            by_field.setdefault(name, []).append(message)
        else:
            general.append(f"{detail.get('field')}: {message}" if detail.get("field") else message)
    return by_field, general
