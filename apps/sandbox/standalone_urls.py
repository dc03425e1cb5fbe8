"""URLconf of `manage.py run_sandbox`: the simulated systems only, at the same `/sandbox/` paths.

Same paths as in-app, so moving the sandbox to its own port changes only the port in the base URLs.
Nothing else of Patchbay (API, UI, admin) is served here; errors are JSON, as from the systems
themselves (Patchbay's error pages link to its UI, which is not here).
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from apps.sandbox.web import error

urlpatterns = [path("sandbox/", include("apps.sandbox.urls"))]


def not_found(request: HttpRequest, exception: Any = None) -> HttpResponse:
    """404 as JSON."""
    return error(404, "not_found", f"{request.path} is not a sandbox URL")


def server_error(request: HttpRequest) -> HttpResponse:
    """500 as JSON."""
    return error(500, "server_error")


handler404 = not_found
handler500 = server_error
