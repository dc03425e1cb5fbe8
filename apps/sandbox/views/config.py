"""The sandbox's own admin endpoints: an index and `GET/POST /sandbox/<system>/config`.

`POST` a JSON object of knobs to change them (`{"failure_rate": 1.0, "latency_ms": 200}`), or
`{"reset": true}` to go back to the defaults; both answer the effective knobs. Unauthenticated on
purpose (tests and demo scripts drive it): the sandbox is only mounted in DEBUG, demo and test runs.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from apps.sandbox.knobs import SYSTEMS, KnobError, knobs_get, knobs_reset, knobs_update
from apps.sandbox.web import BadRequest, error, json_body


def index(request: HttpRequest) -> HttpResponse:
    """What this sandbox simulates, with each system's base and config URLs."""
    base = request.build_absolute_uri(request.path).rstrip("/")
    return JsonResponse({"systems": {name: {"url": f"{base}/{name}/", "config": f"{base}/{name}/config"}
                                     for name in SYSTEMS}})


@csrf_exempt
def system_config(request: HttpRequest, system: str) -> HttpResponse:
    """Read or change the knobs of one simulated system."""
    if system not in SYSTEMS:
        raise Http404(system)
    if request.method == "GET":
        return JsonResponse(knobs_get(system))
    if request.method != "POST":
        return error(405, "method_not_allowed", "use GET or POST")
    try:
        body = json_body(request)
        if body.pop("reset", False):
            knobs_reset(system)
        return JsonResponse(knobs_update(system, body) if body else knobs_get(system))
    except (BadRequest, KnobError) as exc:
        return error(400, "invalid_config", str(exc))
