"""Fixtures for the runtime tests: deployed sample models and signed-in API clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

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
def deploy(db: None) -> Callable[[bytes], ProcessDefinition]:
    """Deploy a model through the definitions service (validated like an upload)."""

    def do(content: bytes, filename: str = "model.bpmn") -> ProcessDefinition:
        definition, _ = definition_deploy(filename=filename, content=content, deployed_by=None)
        return definition

    return do


@pytest.fixture
def clients(users: dict[str, Any], api_client_for: Callable[[Any], APIClient]) -> dict[str, APIClient]:
    """An API client per role (`analyst`, `agent`, `ops`, `admin`) plus `anonymous`."""
    made = {name: api_client_for(user) for name, user in users.items()}
    made["anonymous"] = api_client_for(None)
    return made
