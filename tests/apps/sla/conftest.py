"""Fixtures of the SLA tests: deploy, start, and move the clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from apps.definitions.models import ProcessDefinition
from apps.definitions.services import definition_deploy
from apps.instances import runtime
from apps.instances.models import ProcessInstance
from apps.instances.services import instance_start


@pytest.fixture(autouse=True)
def _fresh_runtime_caches() -> Iterator[None]:
    runtime.clear_caches()
    yield
    runtime.clear_caches()


@pytest.fixture
def deploy(db: None) -> Callable[..., ProcessDefinition]:
    """Deploy a model through the definitions service (validated like an upload)."""

    def do(content: bytes, filename: str = "model.bpmn") -> ProcessDefinition:
        definition, _ = definition_deploy(filename=filename, content=content, deployed_by=None)
        return definition

    return do


@pytest.fixture
def start(users: dict[str, Any]) -> Callable[..., ProcessInstance]:
    """Start an instance of a key as `admin` and return it fresh from the database."""

    def do(process_key: str, **kwargs: Any) -> ProcessInstance:
        instance = instance_start(process_key=process_key, started_by=users["admin"], **kwargs)
        instance.refresh_from_db()
        return instance

    return do
