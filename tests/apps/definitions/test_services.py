"""definition_deploy and the selectors, including real concurrent deploys on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from apps.core.errors import ApiError, Conflict, NotFound
from apps.definitions import selectors, services
from apps.definitions.models import ProcessDefinition
from apps.definitions.services import definition_deploy
from tests.apps.definitions.samples import bpmn_model, invalid_model, service_task


def deploy(content: bytes, filename: str = "model.bpmn"):
    return definition_deploy(filename=filename, content=content, deployed_by=None)


def test_deploy_reports_created_then_returns_the_same_row(db):
    first, created = deploy(bpmn_model())
    again, created_again = deploy(bpmn_model())

    assert created is True
    assert created_again is False
    assert again.pk == first.pk


def test_an_invalid_model_raises_with_the_problems_and_stores_nothing(db):
    with pytest.raises(ApiError) as caught:
        deploy(invalid_model())

    assert caught.value.code == "invalid_model"
    assert caught.value.status_code == 400
    assert len(caught.value.details) >= 2
    assert not ProcessDefinition.objects.exists()


def test_the_operation_registry_is_what_validation_checks(db, monkeypatch):
    monkeypatch.setattr("apps.definitions.services.operation_names", lambda: frozenset({"crm.lookup"}))

    definition, created = deploy(bpmn_model(task_xml=service_task("crm.lookup")))

    assert created is True
    assert definition.key == "greeting"


def test_a_process_id_too_long_for_the_key_column_is_an_invalid_model(db):
    with pytest.raises(ApiError) as caught:
        deploy(bpmn_model("p" * 256))

    assert caught.value.code == "invalid_model"
    assert caught.value.details[0]["code"] == "process_id_too_long"
    assert not ProcessDefinition.objects.exists()


def test_an_empty_upload_is_rejected(db):
    with pytest.raises(ApiError) as caught:
        deploy(b"")

    assert caught.value.code == "empty_file"


def test_latest_and_version_selectors(db):
    deploy(bpmn_model(script="greeting = 1"))
    second, _ = deploy(bpmn_model(script="greeting = 2"))

    assert selectors.definition_get_latest(key="greeting").pk == second.pk
    assert selectors.definition_get_version(key="greeting", version=2).pk == second.pk
    with pytest.raises(NotFound):
        selectors.definition_get_latest(key="nothing")
    with pytest.raises(NotFound):
        selectors.definition_get_version(key="greeting", version=3)
    with pytest.raises(NotFound):
        selectors.definition_get(definition_id=second.pk + 100)


def test_the_list_does_not_load_the_uploaded_bytes(db):
    deploy(bpmn_model())

    definition = selectors.definition_list().get()

    assert "source" in definition.get_deferred_fields()


def test_a_lost_version_race_retries_with_the_next_number(db, monkeypatch):
    deploy(bpmn_model(script="greeting = 1"))
    real = services._latest_version
    reads: list[int] = []

    def stale_first(*, key: str) -> int:
        # The first read misses v1, as the read of a deploy racing another one would.
        reads.append(0 if not reads else real(key=key))
        return reads[-1]

    monkeypatch.setattr(services, "_latest_version", stale_first)
    definition, created = deploy(bpmn_model(script="greeting = 2"))

    assert created is True
    assert definition.version == 2
    assert reads == [0, 1]


def test_too_many_lost_races_give_a_conflict_and_store_nothing(db, monkeypatch):
    deploy(bpmn_model(script="greeting = 1"))
    monkeypatch.setattr(services, "_latest_version", lambda *, key: 0)
    monkeypatch.setattr(services.time, "sleep", lambda seconds: None)

    with pytest.raises(Conflict):
        deploy(bpmn_model(script="greeting = 2"))

    assert ProcessDefinition.objects.count() == 1


def _deploy_in_threads(contents: list[bytes]) -> list[tuple[int, int, bool]]:
    """Deploy each content from its own thread and connection, all released at once."""
    barrier = threading.Barrier(len(contents))
    results: list[tuple[int, int, bool]] = []
    errors: list[BaseException] = []

    def worker(content: bytes) -> None:
        try:
            barrier.wait(timeout=10)
            definition, created = deploy(content)
            results.append((definition.pk, definition.version, created))
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(c,)) for c in contents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


# The `postgres` marker skips these elsewhere (tests/conftest.py): SQLite serialises writers, so
# there is no race to lose there.
@pytest.mark.postgres
def test_concurrent_deploys_of_different_content_get_distinct_versions(transactional_db):
    contents = [bpmn_model(script=f"greeting = {n}") for n in range(6)]

    results = _deploy_in_threads(contents)

    assert sorted(version for _, version, _ in results) == [1, 2, 3, 4, 5, 6]
    assert all(created for _, _, created in results)
    assert ProcessDefinition.objects.filter(key="greeting").count() == 6


@pytest.mark.postgres
def test_concurrent_deploys_of_the_same_content_create_one_version(transactional_db):
    results = _deploy_in_threads([bpmn_model()] * 4)

    assert {pk for pk, _, _ in results} == {ProcessDefinition.objects.get().pk}
    assert sum(created for _, _, created in results) == 1
