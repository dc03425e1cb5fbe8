"""Template helpers of the web UI: role-aware navigation, pretty JSON, status badges."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django import template
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from apps.core.roles import AGENT, ANALYST, OPS, has_role

register = template.Library()

_EVERY_ROLE = (AGENT, ANALYST, OPS)

# (label, URL name, roles that may open the page; None = everyone, signed in or not)
NAV_ITEMS: tuple[tuple[str, str, tuple[str, ...] | None], ...] = (
    ("Inbox", "ui-inbox", (AGENT, OPS)),
    ("Processes", "ui-processes", _EVERY_ROLE),
    ("Instances", "ui-instances", _EVERY_ROLE),
    ("Ops", "ui-ops", (OPS,)),
    ("API docs", "api-docs", None),
)

# Status -> (icon, CSS modifier). The icon and the word carry the meaning; the colour only repeats it.
STATUS_BADGES: dict[str, tuple[str, str]] = {
    "running": ("▶", "info"),
    "waiting": ("◷", "info"),
    "completed": ("✓", "ok"),
    "failed": ("✕", "danger"),
    "cancelled": ("⊘", "muted"),
    "suspended": ("‖", "warn"),
    "open": ("○", "info"),
    "claimed": ("●", "info"),
    "resolved": ("✓", "ok"),
}


@dataclass(frozen=True)
class NavLink:
    """One entry of the main navigation the current user may follow."""

    label: str
    url: str
    current: bool


@register.simple_tag(takes_context=True)
def ui_nav_links(context: template.Context) -> list[NavLink]:
    """The main navigation: only pages that exist and that the user's roles may open."""
    request: HttpRequest | None = context.get("request")
    path = request.path if request is not None else ""
    user = getattr(request, "user", None)
    links = []
    for label, name, roles in NAV_ITEMS:
        if roles is not None and (user is None or not has_role(user, *roles)):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue  # a page another issue has not built yet
        links.append(NavLink(label=label, url=url, current=url != "/" and path.startswith(url)))
    return links


@register.filter
def pretty_json(value: Any) -> str:
    """Indented JSON text; the template escapes it like any other string."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@register.inclusion_tag("ui/partials/status.html")
def status_badge(status: str) -> dict[str, str]:
    """A status word with an icon (colour is never the only signal)."""
    icon, tone = STATUS_BADGES.get(status, ("•", "muted"))
    return {"status": status, "icon": icon, "tone": tone}


@register.simple_tag
def has_any_role(user: Any, *roles: str) -> bool:
    """`{% has_any_role user "ops" as can_operate %}` - the API's role check in templates."""
    return has_role(user, *roles)


@register.simple_tag(takes_context=True)
def query_with(context: template.Context, **changes: Any) -> str:
    """The current query string with some parameters replaced (sort links, pagination)."""
    request: HttpRequest | None = context.get("request")
    params = request.GET.copy() if request is not None else None
    if params is None:
        return ""
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = str(value)
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"
