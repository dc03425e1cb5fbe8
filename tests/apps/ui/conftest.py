"""Fixtures of the UI view tests: signed-in Django test clients and deployed sample models."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from apps.definitions.models import ProcessDefinition
from apps.definitions.services import definition_deploy
from apps.instances import runtime


@pytest.fixture(autouse=True)
def _fresh_runtime_caches() -> Iterator[None]:
    # Row ids repeat across rolled-back tests; start every test with empty per-process caches.
    runtime.clear_caches()
    yield
    runtime.clear_caches()


@pytest.fixture
def client_for(users: dict[str, Any]) -> Callable[[str | None], Client]:
    """`client_for("agent")`: a test client signed in as that demo user (None: anonymous)."""

    def make(name: str | None) -> Client:
        client = Client()
        if name is not None:
            client.force_login(users[name])
        return client

    return make


@pytest.fixture
def deploy(db: None) -> Callable[..., ProcessDefinition]:
    """Deploy BPMN text through the definitions service."""

    def do(xml: str, filename: str = "model.bpmn") -> ProcessDefinition:
        definition, _ = definition_deploy(filename=filename, content=xml.encode(), deployed_by=None)
        return definition

    return do
