"""Helpers of the sandbox views: JSON in and out, and the simulated latency and outages.

The views are plain Django views, not DRF: the simulated systems are not part of Patchbay's API
(they must not appear in its OpenAPI document) and speak their own, simpler error format
`{"error": "<code>", "message": "..."}`, as a third-party REST API would.
"""

from __future__ import annotations

import functools
import json
import random
import time
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from apps.sandbox import soap
from apps.sandbox.knobs import knobs_get

View = Callable[..., HttpResponse]


class BadRequest(ValueError):
    """The request body is not what the endpoint expects (answered with 400)."""


def error(status: int, code: str, message: str = "") -> JsonResponse:
    """A third-party style error answer."""
    return JsonResponse({"error": code, "message": message or code.replace("_", " ")}, status=status)


def json_body(request: HttpRequest, *required: str) -> dict[str, Any]:
    """The JSON object in the body, with the `required` keys present; else `BadRequest`."""
    try:
        body = json.loads(request.body or b"{}")
    except ValueError as exc:
        raise BadRequest("the body is not JSON") from exc
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    missing = [name for name in required if body.get(name) in (None, "")]
    if missing:
        raise BadRequest(f"missing: {', '.join(missing)}")
    return body


def outage(knobs: dict[str, Any]) -> bool:
    """Wait the configured latency, then decide whether this request fails (the failure rate)."""
    if knobs["latency_ms"]:
        time.sleep(knobs["latency_ms"] / 1000)
    return chance(float(knobs["failure_rate"]))


def chance(rate: float) -> bool:
    """True with probability `rate` (0 never, 1 always)."""
    # Simulation, not security: the standard generator is what we want here.
    return random.random() < rate  # noqa: S311


def rest_system(system: str, *methods: str) -> Callable[[View], View]:
    """Decorate a REST view of `system`: allowed methods, latency, outages (503), 400 for bad bodies.

    The view receives the system's knobs as its second argument.
    """

    def wrap(view: View) -> View:
        @csrf_exempt
        @functools.wraps(view)
        def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                return error(405, "method_not_allowed", f"use {' or '.join(methods)}")
            knobs = knobs_get(system)
            if outage(knobs):
                return error(503, "unavailable", f"the simulated {system} system is down (failure_rate)")
            try:
                return view(request, knobs, *args, **kwargs)
            except BadRequest as exc:
                return error(400, "invalid_request", str(exc))

        return inner

    return wrap


def soap_system(system: str, namespace: str, wsdl: str) -> Callable[[View], View]:
    """Decorate a SOAP endpoint of `system`: `GET ?wsdl` serves the WSDL; POST gets latency and
    outages (a `Server` fault), and the operation element parsed from the envelope.

    The view receives the knobs and the operation element; `SoapRequestError` becomes a Client fault.
    """

    def wrap(view: View) -> View:
        @csrf_exempt
        @functools.wraps(view)
        def inner(request: HttpRequest) -> HttpResponse:
            if request.method == "GET" and "wsdl" in {k.lower() for k in request.GET}:
                return soap.wsdl_response(request, wsdl)
            if request.method != "POST":
                return error(405, "method_not_allowed", "POST a SOAP envelope, or GET ?wsdl")
            knobs = knobs_get(system)
            if outage(knobs):
                return soap.fault("Server", f"the simulated {system} system is down", namespace=namespace,
                                  error_code="unavailable", status=503)
            try:
                return view(request, knobs, soap.operation_of(request.body))
            except soap.SoapRequestError as exc:
                return soap.fault("Client", str(exc), namespace=namespace, error_code="invalid_request")

        return inner

    return wrap
