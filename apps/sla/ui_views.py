"""The ops dashboard (`/ops/`), the per-definition heatmap and the SLA overrides page (ops and admins).

Thin: read the filters, call the selectors and `apps.sla.stats`, render. Every number is computed
per request in a fixed number of grouped queries (nothing cached, nothing stale). The open-items
table refreshes itself through htmx every few seconds, so breaches appear without a reload.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.core.errors import ApiError
from apps.core.roles import OPS
from apps.definitions.models import ProcessDefinition
from apps.instances import services as instance_services
from apps.instances.models import Incident, IncidentStatus
from apps.sla import selectors, services, stats
from apps.sla.forms import SlaOverrideForm, attach_policy_error
from apps.sla.models import BusinessCalendar, SlaPolicy
from apps.sla.serializers import PolicyOverrideSerializer
from apps.ui.access import caller, is_htmx, role_required

MAX_HOURS = 24 * 7
INCIDENT_LIMIT = 50


def _window(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("hours", 24)), MAX_HOURS))
    except ValueError:
        return 24


def _filters(request: HttpRequest) -> dict[str, Any]:
    get = request.GET
    state = get.get("state") if get.get("state") in ("breached", "at_risk") else None
    sort = get.get("sort") if get.get("sort") in selectors.OPEN_ITEM_SORTS else "due"
    return {"process_key": get.get("process") or None, "activity_id": get.get("activity") or None,
            "group": get.get("group") or None, "state": state, "sort": sort}


def _charts(hours: int) -> dict[str, Any]:
    now = timezone.now()
    since = now - timedelta(hours=hours)
    cycle = stats.cycle_time_series(since=since)
    return {
        "labels": stats.hours(since, now),
        "breach_rate": stats.breach_rate_series(since=since),
        "cycle": {key: {hour: {"p50": v.p50, "p95": v.p95} for hour, v in series.items()}
                  for key, series in cycle.items()},
        "throughput": stats.throughput_series(since=since),
    }


@require_GET
@role_required(OPS)
def ops_dashboard(request: HttpRequest) -> HttpResponse:
    """Open breaches and at-risk items, charts over the last `hours`, activity percentiles, incidents."""
    filters = _filters(request)
    items = selectors.open_sla_items(**filters)
    context: dict[str, Any] = {"items": items, "filters": filters, "now": timezone.now(),
                               "query": request.GET.urlencode()}
    if is_htmx(request):
        return render(request, "sla/_open_items.html", context)
    hours = _window(request)
    context.update(
        hours=hours,
        choices=selectors.open_sla_filter_choices(),
        charts=_charts(hours),
        activity_stats=stats.activity_stats(since=timezone.now() - timedelta(hours=hours)),
        incidents=list(Incident.objects.filter(status=IncidentStatus.OPEN).select_related("instance")
                       .only("id", "activity_id", "kind", "message", "attempts", "opened_at", "command",
                             "status", "instance__id", "instance__process_key", "instance__business_key")
                       [:INCIDENT_LIMIT]),
        definitions=ProcessDefinition.objects.order_by("key", "-version").only("id", "key", "version", "name"),
    )
    return render(request, "sla/dashboard.html", context)


@require_POST
@role_required(OPS)
def ops_incident_retry(request: HttpRequest, incident_id: int) -> HttpResponse:
    """Retry an open incident from the dashboard (the runtime's retry service), then come back."""
    try:
        incident = instance_services.incident_retry(incident_id=incident_id, actor=caller(request))
    except ApiError as exc:
        if exc.status_code == 404:
            raise Http404(exc.message) from exc
        messages.error(request, exc.message)
    else:
        if incident.status == IncidentStatus.OPEN:
            messages.error(request, f"The retry failed again: {incident.message}")
        else:
            messages.success(request, "The incident was retried and resolved.")
    return redirect(reverse("ui-ops") + "#incidents")


@require_GET
@role_required(OPS)
def ops_heatmap(request: HttpRequest, definition_id: int) -> HttpResponse:
    """The definition's diagram with an overlay per activity: tokens waiting, mean duration, breach rate."""
    definition = ProcessDefinition.objects.filter(pk=definition_id).defer("source").first()
    if definition is None:
        raise Http404("No such definition.")
    config = {"xml_url": reverse("ui-process-xml", args=[definition.pk]),
              "activities": stats.heatmap(definition_id=definition.pk)}
    return render(request, "sla/heatmap.html", {"definition": definition, "config": config})


# -- SLA overrides (/ops/sla/): the same services and validation as `/api/v1/sla/policies/` ------------

def _process_policies(process_key: str) -> dict[str, Any]:
    """What `GET /api/v1/sla/policies/?process_key=` answers, for one key (no policies if undeployed)."""
    try:
        policies = [p.as_dict() for p in selectors.policies_for_process(process_key=process_key)]
    except ApiError:
        policies = []
    overrides = PolicyOverrideSerializer(selectors.policy_overrides(process_key=process_key), many=True).data
    return {"process_key": process_key, "policies": policies, "overrides": overrides}


def _sla_page(request: HttpRequest, *, form: SlaOverrideForm, policy: SlaPolicy | None = None,
              status: int = 200) -> HttpResponse:
    deployed = list(ProcessDefinition.objects.order_by("key").values_list("key", flat=True).distinct())
    keys = sorted(set(deployed) | set(SlaPolicy.objects.values_list("process_key", flat=True).distinct()))
    context = {
        "form": form,
        "policy": policy,
        "processes": [_process_policies(key) for key in keys] if policy is None else [],
        "deployed_keys": deployed,
        "calendars": ["wall", "business", *BusinessCalendar.objects.values_list("name", flat=True)],
    }
    return render(request, "sla/overrides.html", context, status=status)


@require_http_methods(["GET", "POST"])
@role_required(OPS)
def ops_sla(request: HttpRequest) -> HttpResponse:
    """Every process key's effective SLAs and overrides (GET); create an override (POST)."""
    if request.method != "POST":
        initial = {k: request.GET[k] for k in ("process_key", "activity_id") if k in request.GET}
        return _sla_page(request, form=SlaOverrideForm(initial=initial))
    form = SlaOverrideForm(request.POST)
    if form.is_valid():
        try:
            policy = services.sla_policy_save(process_key=form.cleaned_data["process_key"],
                                              activity_id=form.cleaned_data["activity_id"],
                                              data=form.service_data())
        except ApiError as exc:
            attach_policy_error(form, exc)
        else:
            messages.success(request, f"Saved the SLA override of {policy}; clocks started from now use it.")
            return redirect("ui-ops-sla")
    return _sla_page(request, form=form, status=400)


@require_http_methods(["GET", "POST"])
@role_required(OPS)
def ops_sla_edit(request: HttpRequest, policy_id: int) -> HttpResponse:
    """Edit one override (its process key and activity stay, as with `PUT /sla/policies/{id}/`)."""
    policy = selectors.policy_override_get(policy_id=policy_id)
    if request.method != "POST":
        return _sla_page(request, form=SlaOverrideForm(policy=policy), policy=policy)
    form = SlaOverrideForm(request.POST, policy=policy)
    if form.is_valid():
        try:
            services.sla_policy_save(process_key=policy.process_key, activity_id=policy.activity_id,
                                     data=form.service_data(), policy=policy)
        except ApiError as exc:
            attach_policy_error(form, exc)
        else:
            messages.success(request, f"Updated the SLA override of {policy}; clocks started from now use it.")
            return redirect("ui-ops-sla")
    return _sla_page(request, form=form, policy=policy, status=400)


@require_POST
@role_required(OPS)
def ops_sla_delete(request: HttpRequest, policy_id: int) -> HttpResponse:
    """Remove an override: the model's SLA (if any) applies again to clocks started from now."""
    policy = selectors.policy_override_get(policy_id=policy_id)
    name = str(policy)
    services.sla_policy_delete(policy=policy)
    messages.success(request, f"Removed the SLA override of {name}.")
    return redirect("ui-ops-sla")
