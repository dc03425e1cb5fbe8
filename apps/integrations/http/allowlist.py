"""Which hosts `http.request` may call: SSRF protection for uploaded models.

A model is untrusted input, and `http.request` takes its URL from it: without a limit, anyone who
may deploy a model could make the workers call internal services (cloud metadata endpoints, admin
interfaces). Allowed are the hosts of `PATCHBAY_HTTP_ALLOWED_HOSTS` (default: loopback only) and
those of the configured systems (`PATCHBAY_SYSTEM_URLS`). Entries are exact host names or IP
literals (case-insensitive), `*.example.com` for any subdomain of example.com, or `*` for any host.
The host is taken as httpx parses it (so `http://127.0.0.1@evil.example/` is `evil.example`), and
matched as written: `127.1` or `0x7f.1` are not `127.0.0.1`. Redirects are never followed.
"""

from __future__ import annotations

import httpx
from django.conf import settings

from apps.integrations.contract import ConnectorError


def allowed_hosts() -> frozenset[str]:
    """The configured host patterns plus the hosts of the configured systems, normalised."""
    configured: list[str] = settings.PATCHBAY_HTTP_ALLOWED_HOSTS
    systems: dict[str, str] = settings.PATCHBAY_SYSTEM_URLS
    system_hosts = [httpx.URL(url).host for url in systems.values()]
    return frozenset(_normalise(h) for h in [*configured, *system_hosts] if h)


def host_allowed(host: str) -> bool:
    """True when `host` matches an allowed pattern."""
    host = _normalise(host)
    for pattern in allowed_hosts():
        if pattern in ("*", host):
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
    return False


def url_check(url: str) -> None:
    """Raise a permanent `ConnectorError` unless the URL's host is allowed (an incident, not a retry)."""
    try:
        host = httpx.URL(url).host
    except httpx.InvalidURL as exc:
        raise ConnectorError(f"invalid URL {url!r}: {exc}", retryable=False) from exc
    if not host_allowed(host):
        raise ConnectorError(
            f"host {host!r} is not allowed for http.request (add it to PATCHBAY_HTTP_ALLOWED_HOSTS)",
            retryable=False,
        )


def _normalise(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()
