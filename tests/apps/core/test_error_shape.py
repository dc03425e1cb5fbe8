"""Every API endpoint answers errors in the one shape of API.md: `{"error": {"code", "message", "details"}}`.

The routes are discovered from the URL resolver (everything under /api/v1/), so a new endpoint is
covered as soon as it is routed. For each route and HTTP method:

(a) anonymous -> 401 (unless the view allows anonymous callers, like the token endpoint);
(b) a body that is not JSON on POST -> 400 (415 where the view does not parse JSON; 404 where the
    route names an object that does not exist and the view looks it up first);
(c) path parameters naming objects that do not exist -> 404;
(d) a role the view excludes (`required_roles`, see apps.core.roles.RolePermission) -> 403.

Only the error shape and these statuses are assumed, never particular endpoints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from django.urls.resolvers import RegexPattern, RoutePattern
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

API_PREFIX = "api/v1/"
METHODS = ("get", "post", "put", "patch", "delete")
MISSING_IDS = ("999999999", "00000000-0000-4000-8000-00000000dead", "does-not-exist")
ROUTE_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


@dataclass(frozen=True)
class ApiRoute:
    """One routed DRF view: where it lives, which methods it answers, and what it requires."""

    route: str
    urls: tuple[str, ...]  # the route with every path parameter replaced by a missing id, one per candidate
    has_params: bool
    view_class: type[APIView]
    methods: tuple[str, ...]

    def __str__(self) -> str:
        return self.route


def _render_regex(regex: str, value: str) -> str | None:
    """Replace each named group of a simple route regex by `value`; None if the regex is not simple."""
    out, i = [], 0
    text = regex.lstrip("^").removesuffix("$").removesuffix("\\Z")
    while i < len(text):
        if text.startswith("(?P<", i):
            depth, j = 0, i
            while j < len(text):
                if text[j] == "\\":
                    j += 2
                    continue
                if text[j] == "(":
                    depth += 1
                elif text[j] == ")":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            out.append(value)
            i = j + 1
        elif text[i] == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
        else:
            out.append(text[i])
            i += 1
    rendered = "".join(out).replace("/?", "/")
    return None if re.search(r"[()\[\]*+?{}|^$]", rendered) else rendered


def _render(pattern: Any, value: str) -> tuple[str | None, bool]:
    """Render one pattern segment with `value` for each parameter; return (text, had parameters)."""
    if isinstance(pattern, RoutePattern):
        route = str(pattern)
        return ROUTE_PARAM.sub(value, route), bool(ROUTE_PARAM.search(route))
    if isinstance(pattern, RegexPattern):
        regex = pattern.regex.pattern
        return _render_regex(regex, value), "(?P<" in regex
    return None, False


def _walk(patterns: list[Any], prefix: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], URLPattern]]:
    found = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            found.extend(_walk(entry.url_patterns, (*prefix, entry.pattern)))
        elif isinstance(entry, URLPattern):
            found.append(((*prefix, entry.pattern), entry))
    return found


def _methods(callback: Any, view_class: type[APIView]) -> tuple[str, ...]:
    actions = getattr(callback, "actions", None)
    if actions:
        return tuple(m for m in METHODS if m in actions)
    return tuple(m for m in METHODS if hasattr(view_class, m))


def discover_api_routes() -> list[ApiRoute]:
    """Every DRF view routed under /api/v1/, with concrete URLs that resolve back to it."""
    routes: dict[str, ApiRoute] = {}
    for segments, entry in _walk(get_resolver().url_patterns):
        view_class = getattr(entry.callback, "cls", None)
        if not (isinstance(view_class, type) and issubclass(view_class, APIView)):
            continue
        if any("(?P<format>" in getattr(getattr(s, "regex", None), "pattern", "") for s in segments):
            continue  # DRF's `.json` suffix duplicates of the same views
        route = "".join(str(s) for s in segments)
        urls, has_params = [], False
        for value in MISSING_IDS:
            parts = [_render(s, value) for s in segments]
            has_params = has_params or any(p[1] for p in parts)
            if any(p[0] is None for p in parts):
                continue
            url = "/" + "".join(p[0] or "" for p in parts)
            try:
                match = resolve(url)
            except Resolver404:
                continue
            if match.func is entry.callback and url not in urls:
                urls.append(url)
        if not urls or not urls[0].startswith("/" + API_PREFIX):
            if route.startswith(API_PREFIX):
                raise AssertionError(f"cannot build a URL for API route {route!r}; extend test_error_shape")
            continue
        routes.setdefault(route, ApiRoute(
            route=route, urls=tuple(urls), has_params=has_params,
            view_class=view_class, methods=_methods(entry.callback, view_class),
        ))
    return list(routes.values())


ROUTES = discover_api_routes()
ROUTE_IDS = [r.route for r in ROUTES]


def assert_error_shape(response: Any, expected: set[int], context: str) -> None:
    assert response.status_code in expected, (
        f"{context}: expected {sorted(expected)}, got {response.status_code}: {response.content[:500]!r}"
    )
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, f"{context}: not the error shape: {body}"
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, f"{context}: error keys {sorted(error)}"
    assert isinstance(error["code"], str) and re.fullmatch(r"[a-z][a-z0-9_]*", error["code"]), context
    assert isinstance(error["message"], str) and error["message"], context
    assert isinstance(error["details"], list), context


def _call(client: Any, method: str, url: str, *, raw: str | None = None) -> Any:
    if method in {"get", "delete"}:
        return getattr(client, method)(url)
    if raw is not None:
        return getattr(client, method)(url, data=raw, content_type="application/json")
    return getattr(client, method)(url, data={}, format="json")


def _is_public(view_class: type[APIView]) -> bool:
    return all(issubclass(p, AllowAny) for p in view_class.permission_classes)


def _roles_for(view_class: type[APIView], method: str) -> list[str] | None:
    roles = getattr(view_class, "required_roles", None)
    if isinstance(roles, dict):
        roles = roles.get(method.upper(), roles.get("*"))
    return list(roles) if roles else None


def test_routes_are_discovered():
    assert "api/v1/auth/me/" in ROUTE_IDS
    assert "api/v1/auth/token/" in ROUTE_IDS


@pytest.mark.django_db
@pytest.mark.parametrize("api", ROUTES, ids=ROUTE_IDS)
def test_anonymous_gets_401(api, api_client_for):
    if _is_public(api.view_class):
        return  # open to anonymous callers by design (e.g. the token endpoint)
    client = api_client_for(None)
    for method in api.methods:
        response = _call(client, method, api.urls[0])
        assert_error_shape(response, {401}, f"anonymous {method.upper()} {api.urls[0]}")
        assert response.has_header("WWW-Authenticate")


@pytest.mark.django_db
@pytest.mark.parametrize("api", ROUTES, ids=ROUTE_IDS)
def test_bad_json_body_gets_400(api, users, api_client_for):
    if "post" not in api.methods:
        return
    expected = {400}
    if not any(issubclass(p, JSONParser) for p in api.view_class.parser_classes):
        expected.add(415)
    if api.has_params:
        expected.add(404)
    client = api_client_for(users["admin"])
    for url in api.urls:
        response = _call(client, "post", url, raw="{not json")
        assert_error_shape(response, expected, f"POST {{not json}} to {url}")


@pytest.mark.django_db
@pytest.mark.parametrize("api", ROUTES, ids=ROUTE_IDS)
def test_missing_object_gets_404(api, users, api_client_for):
    if not api.has_params:
        return
    client = api_client_for(users["admin"])
    method = "get" if "get" in api.methods else api.methods[0]
    statuses = []
    for url in api.urls:
        response = _call(client, method, url)
        context = f"{method.upper()} {url}: {response.status_code} {response.content[:300]!r}"
        assert response.status_code < 500, context
        if response.status_code == 404:
            assert_error_shape(response, {404}, f"{method.upper()} {url}")
        statuses.append((url, response.status_code))
    assert any(code == 404 for _, code in statuses), f"no candidate id gave 404: {statuses}"


@pytest.mark.django_db
@pytest.mark.parametrize("api", ROUTES, ids=ROUTE_IDS)
def test_wrong_role_gets_403(api, users, api_client_for):
    for method in api.methods:
        roles = _roles_for(api.view_class, method)
        if not roles:
            continue
        outsider = next((u for name, u in users.items() if name != "admin" and name not in roles), None)
        if outsider is None:
            outsider, _ = get_user_model().objects.get_or_create(username="no-role")
        response = _call(api_client_for(outsider), method, api.urls[0])
        context = f"{outsider.username} {method.upper()} {api.urls[0]} (needs {roles})"
        assert_error_shape(response, {403}, context)
