"""Web interfaces of `apps.core`: health probes and the UI shell's home page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.core.health import readiness


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches neither the database nor the broker."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: the database answers `SELECT 1` and the broker is reachable; 503 says what failed."""
    ready, checks = readiness()
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    return JsonResponse(body, status=200 if ready else 503)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The landing page of the UI: what Patchbay is and where to go next."""
    return render(request, "core/home.html")
