"""Instance pages: a filterable list, and one instance with its diagram, trail, variables and incidents.

Ops actions (cancel, suspend, resume, retry) are plain POST forms with CSRF that redirect back to
the instance (post/redirect/get); the services' refusals (busy, already finished ...) become messages.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from apps.core.errors import ApiError
from apps.core.roles import AGENT, ANALYST, OPS, has_role
from apps.instances import selectors, services
from apps.instances.models import IncidentStatus, ProcessInstance
from apps.ui.access import caller, is_htmx, role_required
from apps.ui.forms import IncidentRetryForm, InstanceFilterForm

_ANY_ROLE = (AGENT, ANALYST, OPS)
_PAGE_SIZE = 25


@require_GET
@role_required(*_ANY_ROLE)
def instance_list(request: HttpRequest) -> HttpResponse:
    """Instances the user may see, newest first, filtered like `GET /api/v1/instances/`."""
    form = InstanceFilterForm(request.GET)
    filters = {k: v or None for k, v in form.cleaned_data.items()} if form.is_valid() else {}
    page = Paginator(selectors.instance_list(user=request.user, **filters), _PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    template = "ui/instances/_results.html" if is_htmx(request) else "ui/instances/list.html"
    return render(request, template, {"form": form, "page": page})


def diagram_state(instance: ProcessInstance) -> dict[str, Any]:
    """What the instance diagram colours: completed, active and failed (open incidents) activities."""
    open_incidents = [i for i in instance.incidents.all() if i.status == IncidentStatus.OPEN]
    failed = sorted({i.activity_id for i in open_incidents if i.activity_id})
    return {
        "xml_url": reverse("ui-process-xml", args=[instance.definition_id]),
        "completed": list(dict.fromkeys(instance.completed_activities)),
        "active": list(instance.active_activities),
        "failed": failed,
    }


@require_GET
@role_required(*_ANY_ROLE)
def instance_detail(request: HttpRequest, instance_id: uuid.UUID) -> HttpResponse:
    """Status, diagram with coloured activities, audit timeline, variables, incidents and ops actions."""
    instance = selectors.instance_get(user=request.user, instance_id=instance_id)
    incidents = list(instance.incidents.all())
    context = {
        "instance": instance,
        "diagram": diagram_state(instance),
        "events": selectors.instance_events(instance=instance),
        # One retry form per incident, each with its own field ids.
        "incident_rows": [(i, IncidentRetryForm(auto_id=f"id_retry_{i.pk}_%s")) for i in incidents],
        "open_incidents": [i for i in incidents if i.status == IncidentStatus.OPEN],
        "can_operate": has_role(request.user, OPS),
    }
    return render(request, "ui/instances/detail.html", context)


def _run_action(request: HttpRequest, instance_id: uuid.UUID, action: Callable[[User], Any], done: str) -> HttpResponse:
    """Run an ops action on a visible instance and come back to it with what happened."""
    try:
        action(caller(request))
    except ApiError as exc:
        if exc.status_code == 404:
            raise Http404(exc.message) from exc
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("ui-instance", instance_id=instance_id)


_ACTIONS: dict[str, tuple[Callable[..., ProcessInstance], str]] = {
    "cancel": (services.instance_cancel, "The instance was cancelled."),
    "suspend": (services.instance_suspend, "The instance was suspended."),
    "resume": (services.instance_resume, "The instance was resumed."),
}


@require_POST
@role_required(OPS)
def instance_action(request: HttpRequest, instance_id: uuid.UUID, action: str) -> HttpResponse:
    """POST cancel / suspend / resume (ops): the same services as the API's action endpoints."""
    if action not in _ACTIONS:
        raise Http404("No such action.")
    service, done = _ACTIONS[action]
    instance = selectors.instance_get(user=request.user, instance_id=instance_id)
    return _run_action(request, instance_id, lambda user: service(instance=instance, actor=user), done)


@require_POST
@role_required(OPS)
def incident_retry(request: HttpRequest, instance_id: uuid.UUID, incident_id: int) -> HttpResponse:
    """POST retry of one of this instance's incidents (ops), optionally with corrected variables."""
    instance = selectors.instance_get(user=request.user, instance_id=instance_id)
    incident = selectors.incident_get(user=request.user, incident_id=incident_id)
    if incident.instance_id != instance.pk:
        raise Http404("No such incident on this instance.")
    form = IncidentRetryForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("variables", []):
            messages.error(request, f"Retry not run: {error}")
        return redirect("ui-instance", instance_id=instance_id)

    def retry(user: User) -> None:
        result = services.incident_retry(incident_id=incident.pk, actor=user, variables=form.cleaned_data["variables"])
        if result.status == IncidentStatus.OPEN:
            raise ApiError(f"The retry failed again: {result.message}", code="retry_failed")

    return _run_action(request, instance_id, retry, "The incident was retried and resolved.")
