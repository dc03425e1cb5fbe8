"""`manage.py demo_batch` and the shipped processes deployed through the real definitions service (database)."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from apps.definitions.models import ProcessDefinition
from apps.definitions.packaging import pack_folder
from apps.definitions.services import definition_deploy
from apps.instances import runtime
from apps.instances.models import ProcessInstance
from tests.processes.scenario import PROCESSES

pytestmark = pytest.mark.django_db
SHIPPED = ("order_to_provision", "payment", "compliance_reporting")


@pytest.fixture(autouse=True)
def _fresh_runtime_caches() -> Any:
    runtime.clear_caches()
    yield
    runtime.clear_caches()


@pytest.mark.parametrize("process", SHIPPED)
def test_the_shipped_process_deploys_with_the_registered_operations(process: str) -> None:
    source = pack_folder(PROCESSES / process)
    assert source is not None and source.filename == f"{process}.zip"  # the model with its forms (and DMN)
    definition, created = definition_deploy(filename=source.filename, content=source.content, deployed_by=None)
    assert created and definition.key == process
    assert definition.warnings == []


def test_demo_batch_refuses_outside_demo_and_debug(settings: Any) -> None:
    settings.DEMO_MODE = False
    settings.DEBUG = False
    with pytest.raises(CommandError, match="PATCHBAY_DEMO"):
        call_command("demo_batch", stdout=StringIO())
    assert not ProcessInstance.objects.exists()


def test_demo_batch_starts_varied_instances_of_every_process(settings: Any, users: dict[str, Any]) -> None:
    settings.DEMO_MODE = True
    out = StringIO()

    call_command("demo_batch", "--orders", "6", "--payments", "3", "--compliance", stdout=out)

    assert set(ProcessDefinition.objects.values_list("key", flat=True)) >= set(SHIPPED)
    counts = {key: ProcessInstance.objects.filter(process_key=key).count() for key in SHIPPED}
    assert counts == {"order_to_provision": 6, "payment": 3, "compliance_reporting": 1}
    assert all(i.status in ("running", "waiting") for i in ProcessInstance.objects.all())
    orders = ProcessInstance.objects.filter(process_key="order_to_provision")
    assert {o.variables["customer"]["segment"] for o in orders} == {"residential", "business", "wholesale"}
    assert len({o.variables["amount"] for o in orders}) > 3
    cards = [p.variables["card_number"] for p in ProcessInstance.objects.filter(process_key="payment")]
    assert sum(card.endswith("0002") for card in cards) == 1  # one declined card in three
    assert "expected credit: manual review" in out.getvalue()
    agent_groups = set(users["agent"].groups.values_list("name", flat=True))
    assert {"credit_team", "collections", "compliance_officer", "data_quality"} <= agent_groups
    assert Group.objects.filter(name="provisioning_ops").exists()

    call_command("demo_batch", "--orders", "1", "--payments", "0", stdout=StringIO())  # a second batch
    assert ProcessInstance.objects.filter(process_key="order_to_provision").count() == 7
