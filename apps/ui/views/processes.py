"""The analyst's process library: definitions by key, upload with a validation report, diagrams.

Uploaded XML is never put into the page as markup: the diagram is drawn by bpmn-js from the XML it
fetches (or, after a failed upload, from a `json_script` string), and problems are escaped text.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST

from apps.core.errors import ApiError
from apps.core.roles import AGENT, ANALYST, OPS, has_role
from apps.definitions import selectors, services
from apps.definitions.models import ProcessDefinition
from apps.instances import services as instance_services
from apps.ui.access import caller, role_required
from apps.ui.forms import DefinitionUploadForm, InstanceStartForm, attach_api_error

_ANY_ROLE = (AGENT, ANALYST, OPS)
# Only a model this small is handed back to the browser for locating problems on its diagram.
_REPORT_XML_MAX = 2 * 1024 * 1024


@dataclass(frozen=True)
class ProcessGroup:
    """All deployed versions of one process key, newest first."""

    key: str
    versions: list[ProcessDefinition]

    @property
    def latest(self) -> ProcessDefinition:
        """The highest version."""
        return self.versions[0]


def _groups() -> list[ProcessGroup]:
    definitions = sorted(selectors.definition_list(), key=lambda d: (d.key, -d.version))
    return [ProcessGroup(key=key, versions=list(rows)) for key, rows in groupby(definitions, key=lambda d: d.key)]


def _library(request: HttpRequest, *, form: DefinitionUploadForm, report: dict[str, Any] | None = None,
             status: int = 200) -> HttpResponse:
    context = {"groups": _groups(), "form": form, "report": report,
               "can_upload": has_role(request.user, ANALYST)}
    return render(request, "ui/processes/library.html", context, status=status)


@require_GET
@role_required(*_ANY_ROLE)
def process_library(request: HttpRequest) -> HttpResponse:
    """Every process key with its versions, and (for analysts) the upload form."""
    return _library(request, form=DefinitionUploadForm())


@require_POST
@role_required(ANALYST)
def process_upload(request: HttpRequest) -> HttpResponse:
    """Validate and deploy an upload; on problems show the report beside the library (400)."""
    form = DefinitionUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _library(request, form=form, status=400)
    upload = form.cleaned_data["file"]
    content = upload.read(settings.PATCHBAY_MAX_UPLOAD_BYTES + 1)
    try:
        definition, created = services.definition_deploy(
            filename=upload.name or "", content=content, deployed_by=caller(request)
        )
    except ApiError as exc:
        return _library(request, form=DefinitionUploadForm(), report=_report(upload.name or "", content, exc),
                        status=400)
    if created:
        messages.success(request, f"Deployed {definition.key} as version {definition.version}.")
    else:
        messages.info(request, f"This file is already deployed as {definition.key} version {definition.version}.")
    return redirect("ui-process", definition_id=definition.pk)


def _report(filename: str, content: bytes, error: ApiError) -> dict[str, Any]:
    """The validation report of a rejected upload; `xml` lets bpmn-js locate the problems, if it can."""
    xml: str | None = None
    if not filename.lower().endswith(".zip") and len(content) <= _REPORT_XML_MAX:
        try:
            xml = content.decode("utf-8")
        except UnicodeDecodeError:
            xml = None
    problems = [p for p in error.details if isinstance(p, dict)]
    return {
        "filename": filename,
        "message": error.message,
        "problems": problems,
        "diagram": {"xml": xml},
        "locatable": xml is not None and any(p.get("element_id") for p in problems),
    }


@require_GET
@role_required(*_ANY_ROLE)
def process_detail(request: HttpRequest, definition_id: int) -> HttpResponse:
    """One version: its diagram, its siblings, a download link and the start form."""
    return _detail(request, definition_id=definition_id, form=InstanceStartForm())


def _detail(request: HttpRequest, *, definition_id: int, form: InstanceStartForm, status: int = 200) -> HttpResponse:
    definition = selectors.definition_get(definition_id=definition_id)
    context = {
        "definition": definition,
        "versions": selectors.definition_list(key=definition.key),
        "form": form,
        "diagram": {"xml_url": reverse("ui-process-xml", args=[definition.pk])},
    }
    return render(request, "ui/processes/detail.html", context, status=status)


@require_POST
@role_required(*_ANY_ROLE)
def process_start(request: HttpRequest, definition_id: int) -> HttpResponse:
    """Start an instance of this very version; problems go back beside the form fields."""
    definition = selectors.definition_get(definition_id=definition_id)
    form = InstanceStartForm(request.POST)
    if form.is_valid():
        try:
            instance = instance_services.instance_start(
                process_key=definition.key,
                version=definition.version,
                business_key=form.cleaned_data["business_key"] or None,
                variables=form.cleaned_data["variables"],
                started_by=caller(request),
            )
        except ApiError as exc:
            attach_api_error(form, exc)
        else:
            messages.success(request, f"Started an instance of {definition.key} v{definition.version}.")
            return redirect("ui-instance", instance_id=instance.pk)
    return _detail(request, definition_id=definition_id, form=form, status=400)


@require_GET
@role_required(*_ANY_ROLE)
def process_xml(request: HttpRequest, definition_id: int) -> HttpResponse:
    """The BPMN XML for bpmn-js (or, with `?download=1`, as a file to save)."""
    definition = selectors.definition_get(definition_id=definition_id)
    content = selectors.definition_xml(definition=definition)
    response = HttpResponse(content, content_type="application/xml")
    filename = f"{definition.key}-v{definition.version}.bpmn"
    response["Content-Disposition"] = content_disposition_header(request.GET.get("download") == "1", filename) or ""
    # Untrusted bytes: a browser opening the XML directly must not run anything inside it.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    return response
