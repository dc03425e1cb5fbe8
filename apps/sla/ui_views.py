"""The ops dashboard (`/ops/`) and the per-definition heatmap (ops and admins).

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
from django.views.decorators.http import require_GET, require_POST

from apps.core.errors import ApiError
from apps.core.roles import OPS
from apps.definitions.models import ProcessDefinition
from apps.instances import services as instance_services
from apps.instances.models import Incident, IncidentStatus
from apps.sla import selectors, stats
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
