"""Django forms of the UI pages: uploads, starting an instance, list filters, incident retries.

They only parse and check the shape of the input; the services decide everything else and their
`ApiError` details are attached back onto the form fields (`attach_api_error`).
"""

from __future__ import annotations

import json
from typing import Any

from django import forms

from apps.core.errors import ApiError
from apps.instances.models import InstanceStatus


class JsonObjectField(forms.CharField):
    """A textarea holding a JSON object; empty means `{}`."""

    widget = forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "class": "code-input"})

    def to_python(self, value: Any) -> dict[str, Any]:  # type: ignore[override]
        text = super().to_python(value) or ""
        if not text.strip():
            return {}
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                "Not valid JSON: %(reason)s (line %(line)s, column %(col)s).",
                code="invalid_json",
                params={"reason": exc.msg, "line": exc.lineno, "col": exc.colno},
            ) from exc
        if not isinstance(parsed, dict):
            raise forms.ValidationError("Give a JSON object, such as {\"name\": \"Ada\"}.", code="not_an_object")
        return parsed


class DefinitionUploadForm(forms.Form):
    """A `.bpmn` file, or a `.zip` of `.bpmn`/`.dmn`/form files, to validate and deploy."""

    file = forms.FileField(
        label="BPMN model",
        help_text="A .bpmn file, or a .zip holding .bpmn, .dmn and form files.",
        widget=forms.ClearableFileInput(attrs={"accept": ".bpmn,.xml,.zip"}),
    )


class InstanceStartForm(forms.Form):
    """Start an instance of one definition version."""

    business_key = forms.CharField(
        label="Business key", max_length=255, required=False,
        help_text="Your id for this run (an order number, say). Optional; unique among unfinished runs.",
    )
    variables = JsonObjectField(
        label="Variables (JSON object)", required=False, help_text='For example {"name": "Ada"}.'
    )


class InstanceFilterForm(forms.Form):
    """Filters of the instance list (the same as the API's query parameters)."""

    process_key = forms.CharField(label="Process", required=False, max_length=255)
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *InstanceStatus.choices]
    )
    business_key = forms.CharField(label="Business key", required=False, max_length=255)


class IncidentRetryForm(forms.Form):
    """Run a failed step again, optionally with corrected variables."""

    variables = JsonObjectField(
        label="Corrected variables (JSON object, optional)", required=False,
        help_text="Merged into the failed step's variables before it runs again.",
    )


def attach_api_error(form: forms.Form, error: ApiError) -> None:
    """Put a service's error onto the form: each detail naming a known field beside that field."""
    placed = False
    for detail in error.details:
        field = detail.get("field") if isinstance(detail, dict) else None
        if field in form.fields:
            form.add_error(field, str(detail.get("message") or error.message))
            placed = True
    if not placed:
        form.add_error(None, error.message)
