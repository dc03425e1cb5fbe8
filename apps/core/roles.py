"""The roles of API.md as Django groups, and the checks every interface uses."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

ANALYST = "analyst"
AGENT = "agent"
OPS = "ops"
ADMIN = "admin"
ROLES = (ANALYST, AGENT, OPS, ADMIN)


def user_groups(user: Any) -> set[str]:
    """Names of the user's groups, cached on the user object for the request."""
    cached: set[str] | None = getattr(user, "_patchbay_groups", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True)) if user.is_authenticated else set()
        user._patchbay_groups = cached
    return cached


def remember_groups(user: Any, names: Any) -> None:
    """Cache the user's group names read elsewhere (with the API token), so `user_groups` needs no query."""
    user._patchbay_groups = set(names)


def has_role(user: Any, *roles: str) -> bool:
    """True when the user is a superuser, in the `admin` group, or in one of `roles`."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    groups = user_groups(user)
    return ADMIN in groups or bool(groups.intersection(roles))


class RolePermission(BasePermission):
    """DRF permission: the view's `required_roles` (per HTTP method or for all) must match."""

    message = "Your role does not allow this action."

    def has_permission(self, request: Any, view: Any) -> bool:
        roles = getattr(view, "required_roles", None)
        if isinstance(roles, dict):
            roles = roles.get(request.method, roles.get("*"))
        if not roles:
            return bool(request.user and request.user.is_authenticated)
        return has_role(request.user, *roles)
