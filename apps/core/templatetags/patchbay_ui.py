"""Template helpers of the UI shell: the main navigation.

Pages join the navigation by URL name. Until an app defines the name (the inbox, the process
library ... arrive with later issues), its entry is shown as not yet available instead of a dead link.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import template
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

register = template.Library()

# (label, URL name or absolute path)
NAV_ITEMS: tuple[tuple[str, str], ...] = (
    ("Inbox", "ui-inbox"),
    ("Processes", "ui-processes"),
    ("Instances", "ui-instances"),
    ("Ops", "ui-ops"),
    ("API docs", "api-docs"),
)


@dataclass(frozen=True)
class NavLink:
    """One entry of the main navigation; `url` is None while the page does not exist yet."""

    label: str
    url: str | None
    current: bool


@register.simple_tag(takes_context=True)
def nav_links(context: template.Context) -> list[NavLink]:
    """The main navigation for the current request, marking the current section."""
    request: HttpRequest | None = context.get("request")
    path = request.path if request is not None else ""
    links = []
    for label, name in NAV_ITEMS:
        try:
            url: str | None = reverse(name)
        except NoReverseMatch:
            url = None
        current = url is not None and url != "/" and path.startswith(url)
        links.append(NavLink(label=label, url=url, current=current))
    return links
