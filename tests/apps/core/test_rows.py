"""Hand-built statements store and read rows exactly as the ORM does (on SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from apps.core.rows import insert_rows, select_latest, select_row, update_row, update_where
from apps.definitions.services import definition_deploy
from apps.instances.models import InstanceEvent, ProcessInstance
from tests.apps.instances import samples

pytestmark = pytest.mark.django_db

DATA: dict[str, Any] = {"text": "Grüße \"quoted\"", "nested": {"list": [1, 2.5, None, True]}, "empty": {}}


def _instance() -> ProcessInstance:
    definition, _ = definition_deploy(filename="approval.bpmn", content=samples.APPROVAL, deployed_by=None)
    return ProcessInstance(definition=definition, process_key=definition.key, variables=DATA,
                           completed_activities=["a", "b"], next_timer_at=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC))


def test_an_inserted_row_reads_back_as_the_orm_would_have_stored_it() -> None:
    instance = _instance()

    insert_rows(ProcessInstance, [instance])

    stored = ProcessInstance.objects.get(pk=instance.pk)
    assert (stored.variables, stored.completed_activities, stored.next_timer_at) == (
        DATA, ["a", "b"], datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert stored.started_at == instance.started_at and stored.definition_id == instance.definition_id


def test_an_update_writes_only_the_named_fields_of_that_row() -> None:
    instance, other = _instance(), _instance()
    insert_rows(ProcessInstance, [instance, other])
    instance.variables, instance.status, instance.business_key = {"changed": [1]}, "waiting", "not saved"

    assert update_row(instance, ["variables", "status"]) == 1

    stored = ProcessInstance.objects.get(pk=instance.pk)
    assert (stored.variables, stored.status, stored.business_key) == ({"changed": [1]}, "waiting", None)
    assert ProcessInstance.objects.get(pk=other.pk).variables == DATA


def test_rows_with_database_generated_keys_are_inserted_together() -> None:
    instance = _instance()
    insert_rows(ProcessInstance, [instance])
    at = datetime(2031, 5, 6, tzinfo=UTC)

    events = [InstanceEvent(instance=instance, seq=n, type="t", at=at, data={"n": n}) for n in (1, 2)]

    insert_rows(InstanceEvent, events)

    assert list(InstanceEvent.objects.filter(instance=instance).order_by("seq").values_list("seq", "data", "at")) == [
        (1, {"n": 1}, at), (2, {"n": 2}, at)]


def test_a_row_selected_by_key_is_the_orm_object_or_none() -> None:
    instance = _instance()
    insert_rows(ProcessInstance, [instance])

    found = select_row(ProcessInstance, "id", instance.pk, lock=True)

    assert found is not None and found.variables == DATA and found.pk == instance.pk
    assert select_row(ProcessInstance, "id", uuid.uuid4()) is None


def test_rows_inserted_with_returning_carry_the_keys_the_database_gave_them() -> None:
    instance = _instance()
    insert_rows(ProcessInstance, [instance])
    at = datetime(2031, 5, 6, tzinfo=UTC)
    events = [InstanceEvent(instance=instance, seq=n, type="t", at=at, data={"n": n}) for n in (1, 2, 3)]

    insert_rows(InstanceEvent, events, returning=True)

    stored = list(InstanceEvent.objects.filter(instance=instance).order_by("seq").values_list("pk", "seq"))
    assert [(event.pk, event.seq) for event in events] == stored
    assert not any(event._state.adding for event in events)


def test_the_latest_row_is_the_highest_of_its_key_with_deferred_fields_loaded_on_access() -> None:
    first, _ = definition_deploy(filename="approval.bpmn", content=samples.APPROVAL, deployed_by=None)
    second, _ = definition_deploy(filename="approval.bpmn", content=samples.APPROVAL.replace(b"Approve", b"Check"),
                                  deployed_by=None)

    latest = select_latest(type(first), "key", first.key, by="version", defer=("source",))

    assert latest is not None and (latest.pk, latest.version) == (second.pk, 2)
    assert latest.get_deferred_fields() == {"source"}
    assert bytes(latest.source) == bytes(second.source)
    assert select_latest(type(first), "key", "never-deployed", by="version") is None


def test_a_conditional_update_changes_only_rows_that_match_every_condition() -> None:
    instance, other = _instance(), _instance()
    insert_rows(ProcessInstance, [instance, other])
    fields = {"variables": {"after": [1, "two"]}, "status": "waiting"}

    assert update_where(ProcessInstance, fields, id=instance.pk, status="running", ended_at=None) == 1
    assert update_where(ProcessInstance, {"status": "failed"}, id=instance.pk, status="running") == 0

    stored = ProcessInstance.objects.get(pk=instance.pk)
    assert (stored.variables, stored.status) == ({"after": [1, "two"]}, "waiting")
    assert ProcessInstance.objects.get(pk=other.pk).variables == DATA
