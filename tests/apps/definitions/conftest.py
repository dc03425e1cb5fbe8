"""Fixtures for the definitions tests: API clients signed in as the role users of tests/conftest.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient


@pytest.fixture
def analyst_client(users: dict[str, Any], api_client_for: Callable[[Any], APIClient]) -> APIClient:
    return api_client_for(users["analyst"])


@pytest.fixture
def agent_client(users: dict[str, Any], api_client_for: Callable[[Any], APIClient]) -> APIClient:
    return api_client_for(users["agent"])


@pytest.fixture
def admin_client(users: dict[str, Any], api_client_for: Callable[[Any], APIClient]) -> APIClient:
    return api_client_for(users["admin"])


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()
