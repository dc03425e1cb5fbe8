"""Access rules of the UI views, mapped onto the same role checks and selectors as the API.

The selectors raise the API's errors (`NotFound`, `Forbidden`); a page answers them the way a web
page should: 404 (the object may not exist or the caller may not see it - never leak which) and 403.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from apps.core.errors import Forbidden, NotFound
from apps.core.roles import has_role

R = TypeVar("R", bound=HttpResponse)


def role_required(*roles: str) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Sign-in required (redirect to the login page), then one of `roles` (403 otherwise).

    It also turns the selectors' `NotFound`/`Forbidden` into Django's 404/403, so views stay thin.
    """

    def decorate(view: Callable[..., R]) -> Callable[..., R]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> R:
            if not has_role(request.user, *roles):
                raise PermissionDenied("Your role does not allow this page.")
            try:
                return view(request, *args, **kwargs)
            except NotFound as exc:
                raise Http404(exc.message) from exc
            except Forbidden as exc:
                raise PermissionDenied(exc.message) from exc

        return login_required(wrapper)

    return decorate


def caller(request: HttpRequest) -> User:
    """The signed-in user; `role_required` already turned anonymous callers away."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied("Sign in first.")
    return user


def is_htmx(request: HttpRequest) -> bool:
    """True for requests htmx sends (they get a partial instead of the whole page)."""
    return request.headers.get("HX-Request") == "true"
