"""Fixtures of the integrations tests: deployed models, a test connector, a broker we can look into."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.celery import app as celery_app
from apps.definitions.models import ProcessDefinition
from apps.definitions.services import definition_deploy
from apps.instances import runtime
from apps.instances.models import ProcessInstance
from apps.instances.services import instance_start
from apps.integrations import registry
from apps.integrations.contract import (
    CallContext,
    Connector,
    ConnectorError,
    OperationSpec,
    RetryPolicy,
    SystemLimits,
)
from apps.integrations.models import OutboundCall
from apps.integrations.tasks import run_outbound_call


@pytest.fixture(autouse=True)
def _fresh_runtime_caches() -> Iterator[None]:
    # Row ids repeat across rolled-back tests; start every test with empty per-process caches.
    runtime.clear_caches()
    yield
    runtime.clear_caches()


@pytest.fixture
def deploy(db: None) -> Callable[[bytes], ProcessDefinition]:
    """Deploy a model through the definitions service (validated like an upload)."""

    def do(content: bytes) -> ProcessDefinition:
        definition, _ = definition_deploy(filename="model.bpmn", content=content, deployed_by=None)
        return definition

    return do


@pytest.fixture
def start(deploy: Callable[[bytes], ProcessDefinition], users: dict[str, Any]) -> Callable[..., ProcessInstance]:
    """`start(model, **variables)`: deploy the model (once) and start an instance of it."""

    def do(content: bytes, **variables: Any) -> ProcessInstance:
        definition = deploy(content)
        return instance_start(process_key=definition.key, variables=variables, started_by=users["agent"])

    return do


@pytest.fixture
def clients(users: dict[str, Any], api_client_for: Callable[[Any], APIClient]) -> dict[str, APIClient]:
    """An API client per role (`analyst`, `agent`, `ops`, `admin`) plus `anonymous`."""
    made = {name: api_client_for(user) for name, user in users.items()}
    made["anonymous"] = api_client_for(None)
    return made


def only_call(instance: ProcessInstance) -> OutboundCall:
    """The instance's single outbound call, fresh from the database."""
    [call] = OutboundCall.objects.filter(instance=instance)
    return call


def run(call: OutboundCall) -> str:
    """Deliver the call's Celery task once, in this process (the task function itself, no eager mode)."""
    return str(run_outbound_call(call.pk))


def make_due(call: OutboundCall) -> None:
    """Time passes: the call's back-off (or delay) is over."""
    OutboundCall.objects.filter(pk=call.pk).update(next_attempt_at=timezone.now())


@dataclass
class Testkit(Connector):
    """A real connector of the tests: counts its calls and answers as `mode` says."""

    __test__ = False  # not a test class, despite its name

    system: ClassVar[str] = "testkit"
    operations: ClassVar[dict[str, OperationSpec]] = {
        "ping": OperationSpec(
            {"type": "object", "properties": {"value": {}}},
            timeout=0.5,
            retry=RetryPolicy(max_attempts=3, base_delay=10.0, multiplier=2.0, max_delay=100.0, jitter=0.2),
        )
    }
    limits: ClassVar[SystemLimits] = SystemLimits(max_concurrency=4, failure_threshold=100, cooldown=30.0)
    mode: str = "ok"
    calls: list[dict[str, Any]] = field(default_factory=list)

    def call(self, operation: str, parameters: dict[str, Any], context: CallContext) -> Any:
        self.calls.append({"parameters": parameters, "key": context.idempotency_key, "attempt": context.attempt})
        if self.mode == "down":
            raise ConnectorError("connection refused", retryable=True)
        if self.mode == "unserialisable":
            return {"when": object()}
        if self.mode == "hang":
            import time

            time.sleep(3)
        return {"pong": parameters.get("value")}


@pytest.fixture
def testkit() -> Iterator[Testkit]:
    """The `testkit` system, registered for the test (its models deploy only while it is)."""
    connector = Testkit()
    registry.register_connector(connector)
    yield connector
    registry.unregister_connector("testkit")


class MemoryBroker:
    """Celery's in-memory transport: what the code under test sent, per queue."""

    def messages(self, queue: str) -> list[dict[str, Any]]:
        """Take every message from `queue`: `{"task", "args"}` each."""
        taken = []
        with celery_app.connection_for_write() as conn:
            channel = conn.default_channel
            while (message := channel.basic_get(queue, no_ack=True)) is not None:
                body = message.body if isinstance(message.body, str | bytes) else json.dumps(message.body)
                args, _kwargs, _embed = json.loads(body)
                taken.append({"task": message.headers["task"], "args": args})
        return taken

    def call_ids(self, queue: str) -> list[int]:
        """The call ids of the `run_outbound_call` messages on `queue`."""
        return [m["args"][0] for m in self.messages(queue) if m["task"].endswith("run_outbound_call")]


@pytest.fixture
def broker() -> Iterator[MemoryBroker]:
    """Point the Celery app at `memory://` for the test (never the real broker of the machine)."""
    from kombu.transport.memory import Channel

    saved = celery_app.conf.broker_url, celery_app.conf.broker_transport
    celery_app.conf.broker_url, celery_app.conf.broker_transport = "memory://", None
    celery_app._after_fork()  # drop the pooled connections to the old broker
    Channel.queues.clear()
    yield MemoryBroker()
    Channel.queues.clear()
    celery_app.conf.broker_url, celery_app.conf.broker_transport = saved
    celery_app._after_fork()
