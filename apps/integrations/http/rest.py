"""The REST side of the system connectors (crm, credit, network, notify, payment): one JSON call.

Failure policy, as for `http.request` (docs/operations.md "External systems"): connection errors,
timeouts, 5xx, 408 and 429 are retryable; a status the operation declares a *business* outcome
becomes a BPMN error whose code is the answer's `{"error": "<code>"}` (e.g. 402 `card_declined`);
any other 4xx is a permanent failure (an incident: the request itself is wrong). The call's
idempotency key is always sent as the `Idempotency-Key` header.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

import httpx
from django.conf import settings

from apps.integrations.contract import CallContext, ConnectorError

RETRYABLE_4XX = frozenset({408, 429})
_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def system_url(system: str, path: str = "") -> str:
    """The configured base URL of `system` (`PATCHBAY_SYSTEM_URLS`) joined with `path`."""
    urls: dict[str, str] = settings.PATCHBAY_SYSTEM_URLS
    base = urls.get(system)
    if not base:
        raise ConnectorError(f"no base URL configured for system {system!r} (PATCHBAY_SYSTEM_URLS)", retryable=False)
    return base.rstrip("/") + "/" + path.lstrip("/") if path else base


def rest_call(
    system: str,
    method: str,
    path: str,
    *,
    context: CallContext,
    json: Any = None,
    params: dict[str, Any] | None = None,
    business: Collection[int] = (),
) -> dict[str, Any]:
    """Send one request to `system` and return its JSON object; raise `ConnectorError` as above."""
    url = system_url(system, path)
    headers = {"Idempotency-Key": context.idempotency_key, "Accept": "application/json"}
    try:
        response = httpx.request(method, url, json=json, params=params, headers=headers,
                                 timeout=context.timeout, follow_redirects=False)
    except httpx.TimeoutException as exc:
        raise ConnectorError(f"{system}: timed out after {context.timeout:g}s", retryable=True) from exc
    except httpx.HTTPError as exc:
        raise ConnectorError(f"{system}: request failed: {type(exc).__name__}: {exc}", retryable=True) from exc
    body = _json_object(response)
    _raise_for_status(system, response, body or {}, business)
    if body is None:
        raise ConnectorError(f"{system}: HTTP {response.status_code} answer is not a JSON object", retryable=False)
    return body


def fields(system: str, body: dict[str, Any], *names: str) -> dict[str, Any]:
    """The named fields of an answer; a missing one is a permanent failure (the system broke its contract)."""
    missing = [name for name in names if name not in body]
    if missing:
        raise ConnectorError(f"{system}: the answer lacks {', '.join(missing)}: {body!r:.200}", retryable=False)
    return {name: body[name] for name in names}


def _raise_for_status(system: str, response: httpx.Response, body: dict[str, Any], business: Collection[int]) -> None:
    status = response.status_code
    if status < 400:
        return
    summary = f"{system}: HTTP {status} from {response.request.method} {response.request.url}: {response.text[:200]}"
    if status in business:
        code = str(body.get("error") or "")
        error_code = code if _CODE_RE.match(code) else f"http_{status}"
        raise ConnectorError(summary, retryable=False, bpmn_error_code=error_code)
    raise ConnectorError(summary, retryable=status >= 500 or status in RETRYABLE_4XX)


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json() if response.content else None
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
