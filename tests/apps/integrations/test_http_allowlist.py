"""`http.request` calls only allowed hosts (PATCHBAY_HTTP_ALLOWED_HOSTS + the configured systems)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from apps.integrations.contract import ConnectorError
from apps.integrations.http.allowlist import host_allowed
from apps.integrations.http.connector import HttpConnector
from tests.apps.integrations.httpserver import Script, serving
from tests.apps.sandbox.kit import context


@pytest.fixture
def server() -> Iterator[Script]:
    with serving(Script()) as script:
        yield script


def request(url: str) -> Any:
    return HttpConnector().call("request", {"url": url}, context("http.request"))


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://10.0.0.1/admin",
    "http://127.0.0.1@evil.example/",  # userinfo trick: the host is evil.example
    "http://127.1/",  # another spelling of loopback is not on the list
    "https://intranet.example.com/",
])
def test_other_hosts_are_refused_permanently_without_a_request(url: str, server: Script) -> None:
    with pytest.raises(ConnectorError) as refused:
        request(url)
    assert refused.value.retryable is False and "not allowed" in refused.value.message
    assert server.requests == []


def test_loopback_is_allowed_by_default(server: Script) -> None:
    assert request(server.url)["status"] == 200
    assert host_allowed("localhost") and host_allowed("[::1]") and host_allowed("LOCALHOST.")


def test_configured_systems_and_patterns_are_allowed(settings: Any) -> None:
    settings.PATCHBAY_SYSTEM_URLS = {"crm": "https://crm.example.net/api/"}
    settings.PATCHBAY_HTTP_ALLOWED_HOSTS = ["*.partner.example"]
    assert host_allowed("crm.example.net")
    assert host_allowed("api.partner.example") and not host_allowed("partner.example.evil")
    assert not host_allowed("127.0.0.1")  # the setting replaces the loopback default
    settings.PATCHBAY_HTTP_ALLOWED_HOSTS = ["*"]
    assert host_allowed("anything.example")
