"""Fixtures for the worklist tests: deployed models, users in groups, started instances, clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from apps.definitions.models import ProcessDefinition
from apps.definitions.services import definition_deploy
from apps.instances import runtime
from apps.instances.models import ProcessInstance
from apps.instances.services import instance_start
from apps.worklist.models import WorkItem


@pytest.fixture(autouse=True)
def _fresh_runtime_caches() -> Iterator[None]:
    # Row ids repeat across rolled-back tests; start every test with empty per-process caches.
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
def make_user(users: dict[str, Any]) -> Callable[..., User]:
    """`make_user(name, *groups)`: a user in those groups (created when missing)."""

    def make(name: str, *groups: str) -> User:
        user = User.objects.create_user(username=name, password="x")
        for group in groups:
            user.groups.add(Group.objects.get_or_create(name=group)[0])
        return user

    return make


@pytest.fixture
def people(users: dict[str, Any], make_user: Callable[..., User]) -> dict[str, User]:
    """The role users plus `seller` and `seller2` (agent + sales) and `biller` (agent + billing)."""
    return {
        **users,
        "seller": make_user("seller", "agent", "sales"),
        "seller2": make_user("seller2", "agent", "sales"),
        "biller": make_user("biller", "agent", "billing"),
    }


@pytest.fixture
def client_for(api_client_for: Callable[[Any], APIClient]) -> Callable[[Any], APIClient]:
    """An API client signed in as the user (anonymous for None)."""
    return api_client_for


@pytest.fixture
def start(users: dict[str, Any]) -> Callable[..., tuple[ProcessInstance, WorkItem | None]]:
    """`start(process_key, **variables)` -> the instance and its (single) newest work item."""

    def do(process_key: str, **variables: Any) -> tuple[ProcessInstance, WorkItem | None]:
        instance = instance_start(process_key=process_key, variables=variables, started_by=users["analyst"])
        instance.refresh_from_db()
        return instance, WorkItem.objects.filter(instance=instance).order_by("-created_at").first()

    return do
