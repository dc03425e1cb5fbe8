"""The one error shape of the API: `{"error": {"code", "message", "details"}}`.

Services raise `ApiError` subclasses (or let DRF raise its own); `api_exception_handler` turns
everything into the shape, so no view formats errors by hand and nothing a client sent becomes a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An error with an HTTP status, a snake_case code, a sentence and optional details."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code: str = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: list[Any] | None = None,
                 status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.details = details or []


class NotFound(ApiError):
    """The object does not exist, or the caller may not see it (never leak which)."""

    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"


class Conflict(ApiError):
    """The request clashes with the current state (already completed, duplicate start, busy)."""

    status_code = status.HTTP_409_CONFLICT
    code = "conflict"


class Forbidden(ApiError):
    """Authenticated, but this role may not do that."""

    status_code = status.HTTP_403_FORBIDDEN
    code = "forbidden"


def error_body(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    """Build the error body of API.md."""
    return {"error": {"code": code, "message": message, "details": details or []}}


def _validation_details(detail: Any, prefix: str = "") -> list[dict[str, Any]]:
    """Flatten DRF's nested validation errors into `[{"field", "code", "message"}]`."""
    out: list[dict[str, Any]] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.extend(_validation_details(value, name))
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, (dict, list)):
                out.extend(_validation_details(value, f"{prefix}[{index}]" if prefix else str(index)))
            else:
                out.extend(_validation_details(value, prefix))
    else:
        code = getattr(detail, "code", "invalid")
        out.append({"field": prefix or "non_field_errors", "code": str(code), "message": str(detail)})
    return out


_DRF_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ParseError: "parse_error",
}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler producing the API.md error shape for every 4xx/5xx."""
    if isinstance(exc, ApiError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled error in API view", exc_info=exc)
        return Response(error_body("internal_error", "An internal error occurred."), status=500)
    if isinstance(exc, exceptions.ValidationError):
        details = _validation_details(exc.detail)
        fields = sorted({d["field"] for d in details})
        message = "Invalid input: " + ", ".join(fields) if fields else "Invalid input."
        response.data = error_body("invalid_input", message, details)
        return response
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error")
    message = str(getattr(exc, "detail", exc))
    response.data = error_body(code, message)
    return response
