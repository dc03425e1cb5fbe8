"""The ops page's override form (`/ops/sla/`): shape only, like the API's serializers.

Durations, calendars, time zones, escalations and the process key are checked by
`apps.sla.services.sla_policy_save`, exactly as for the API; `attach_policy_error` puts the
service's `ApiError` details beside the fields they name (`escalations[0].url` beside `escalations`).
"""

from __future__ import annotations

import json
from typing import Any

from django import forms

from apps.core.errors import ApiError
from apps.sla.models import SlaPolicy
from apps.sla.policies import iso_duration

_PAUSE_CHOICES = (("", "Inherit (model, else pause)"), ("true", "Pause the clock"), ("false", "Keep counting"))


class JsonListField(forms.CharField):
    """A textarea holding JSON (the escalation list); empty means `[]`. Only the syntax is checked here."""

    widget = forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "class": "code-input"})

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value) or ""
        if not text.strip():
            return []
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                "Not valid JSON: %(reason)s (line %(line)s, column %(col)s).", code="invalid_json",
                params={"reason": exc.msg, "line": exc.lineno, "col": exc.colno},
            ) from exc

    def prepare_value(self, value: Any) -> Any:
        return value if isinstance(value, str) else json.dumps(value, indent=2)


class SlaOverrideForm(forms.Form):
    """One override of a process key's element; on edit the key and activity are fixed (as in the API)."""

    process_key = forms.CharField(label="Process key", max_length=255,
                                  widget=forms.TextInput(attrs={"list": "sla-process-keys", "class": "mono"}))
    activity_id = forms.CharField(label="Activity id", max_length=255, required=False,
                                  help_text="Blank for the process as a whole.",
                                  widget=forms.TextInput(attrs={"class": "mono"}))
    enabled = forms.BooleanField(label="SLA enabled", required=False, initial=True,
                                 help_text="Untick to switch this element's SLA off.")
    target = forms.CharField(label="Target", max_length=64, required=False,
                             help_text="ISO 8601 duration, e.g. PT4H or P2D. Blank inherits the model's.")
    at_risk = forms.CharField(label="At risk after", max_length=64, required=False,
                              help_text="A shorter duration or a percentage of the target (80%). "
                                        "Blank: the model's, else 80%.")
    calendar = forms.CharField(label="Calendar", max_length=64, required=False,
                               help_text="wall, business or a business calendar's name. Blank inherits.",
                               widget=forms.TextInput(attrs={"list": "sla-calendars"}))
    timezone = forms.CharField(label="Time zone", max_length=64, required=False,
                               help_text="IANA name, e.g. Europe/Vienna. Blank inherits.")
    pause_on_suspend = forms.TypedChoiceField(
        label="While the instance is suspended", choices=_PAUSE_CHOICES, required=False,
        coerce=lambda value: value == "true", empty_value=None)
    escalations = JsonListField(
        label="Escalations (JSON list)", required=False,
        help_text='For example [{"on": "breached", "action": "reassign", "group": "supervisors"}].')

    def __init__(self, *args: Any, policy: SlaPolicy | None = None, **kwargs: Any) -> None:
        if policy is not None:
            kwargs.setdefault("initial", initial_for(policy))
        super().__init__(*args, **kwargs)
        if policy is not None:
            for name in ("process_key", "activity_id"):
                self.fields[name].disabled = True

    def service_data(self) -> dict[str, Any]:
        """The cleaned input in the API's shape, for `sla_policy_save`."""
        data = self.cleaned_data
        return {
            "enabled": data["enabled"],
            "target": data["target"] or None,
            "at_risk": data["at_risk"] or None,
            "calendar": data["calendar"],
            "timezone": data["timezone"],
            "pause_on_suspend": data["pause_on_suspend"],
            "escalations": data["escalations"],
        }


def initial_for(policy: SlaPolicy) -> dict[str, Any]:
    """An override's stored values as the form shows them (durations in ISO 8601)."""
    pause = policy.pause_on_suspend
    return {
        "process_key": policy.process_key,
        "activity_id": policy.activity_id,
        "enabled": policy.enabled,
        "target": iso_duration(policy.target) if policy.target else "",
        "at_risk": iso_duration(policy.at_risk) if policy.at_risk else "",
        "calendar": policy.calendar,
        "timezone": policy.timezone,
        "pause_on_suspend": "" if pause is None else ("true" if pause else "false"),
        "escalations": json.dumps(policy.escalations or [], indent=2) if policy.escalations else "",
    }


def attach_policy_error(form: forms.Form, error: ApiError) -> None:
    """Each detail of the service's error beside the field it names; the rest above the form.

    A nested name (`escalations[0].url`) goes beside its root field, prefixed with the path.
    """
    placed = False
    for detail in error.details:
        name = str(detail.get("field") or "") if isinstance(detail, dict) else ""
        root = name.split("[")[0].split(".")[0]
        if root in form.fields:
            message = str(detail.get("message") or error.message)
            form.add_error(root, message if name == root else f"{name}: {message}")
            placed = True
    if not placed:
        form.add_error(None, error.message)
