"""The hot hand-written statements run as prepared statements on PostgreSQL, with the same results."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.core import prepared
from apps.core.rows import select_row
from apps.definitions.services import definition_deploy
from apps.instances.models import ProcessInstance
from apps.instances.services import instance_start
from tests.apps.instances import samples

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

COUNT_SQL = "SELECT COUNT(*) FROM instances_processinstance WHERE process_key = %s AND status LIKE '%%ing'"


@pytest.fixture
def waiting() -> Iterator[ProcessInstance]:
    definition_deploy(filename="approval.bpmn", content=samples.APPROVAL, deployed_by=None)
    yield instance_start(process_key="approval", variables={"amount": 5}, started_by=None)


def _count(key: str) -> int:
    with connection.cursor() as cursor:
        prepared.execute(cursor, COUNT_SQL, [key])
        return int(cursor.fetchone()[0])


def _verbs(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"].split()[0] for q in queries.captured_queries]


def test_a_statement_is_prepared_once_per_session_and_then_only_executed(waiting: ProcessInstance) -> None:
    connection.close()
    with CaptureQueriesContext(connection) as queries:
        counts = [_count("approval"), _count("approval"), _count("other")]

    assert counts == [1, 1, 0]  # '%%' in the statement is a literal '%' (LIKE '%ing' matches 'waiting')
    assert _verbs(queries) == ["PREPARE", "EXECUTE", "EXECUTE", "EXECUTE"]
    assert prepared.statement(queries.captured_queries[1]["sql"]) == COUNT_SQL


def test_a_row_read_through_a_prepared_statement_is_the_row_the_orm_reads(waiting: ProcessInstance) -> None:
    for _ in range(7):  # past the five custom plans: PostgreSQL's generic plan answers the same
        row = select_row(ProcessInstance, "id", waiting.pk, lock=False)
    assert row is not None
    stored = ProcessInstance.objects.get(pk=waiting.pk)
    assert (row.pk, row.status, row.variables, row.started_at) == (
        stored.pk, stored.status, stored.variables, stored.started_at)


def test_a_new_session_prepares_again_instead_of_executing_a_statement_it_does_not_have(
    waiting: ProcessInstance,
) -> None:
    _count("approval")
    connection.close()  # the server forgets the session's statements

    with CaptureQueriesContext(connection) as queries:
        assert _count("approval") == 1

    assert _verbs(queries) == ["PREPARE", "EXECUTE"]


def test_a_statement_prepared_in_a_rolled_back_transaction_is_still_there(waiting: ProcessInstance) -> None:
    connection.close()
    with transaction.atomic():
        _count("approval")
        transaction.set_rollback(True)

    with CaptureQueriesContext(connection) as queries:
        assert _count("approval") == 1

    assert _verbs(queries) == ["EXECUTE"]


def test_switched_off_the_statement_is_sent_as_written(waiting: ProcessInstance, settings) -> None:
    settings.PATCHBAY_DB_PREPARED_STATEMENTS = False
    with CaptureQueriesContext(connection) as queries:
        assert _count("approval") == 1

    assert _verbs(queries) == ["SELECT"]


def test_past_the_session_limit_further_statements_run_unprepared(
    waiting: ProcessInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection.close()
    monkeypatch.setattr(prepared, "MAX_PER_SESSION", 1)
    _count("approval")
    other = COUNT_SQL + " AND 1 = 1"

    with CaptureQueriesContext(connection) as queries, connection.cursor() as cursor:
        prepared.execute(cursor, other, ["approval"])
        assert cursor.fetchone() == (1,)
        assert _count("approval") == 1

    assert _verbs(queries) == ["SELECT", "EXECUTE"]


def test_parameters_that_do_not_match_the_placeholders_are_refused_before_anything_is_sent(
    waiting: ProcessInstance,
) -> None:
    with (
        CaptureQueriesContext(connection) as queries,
        connection.cursor() as cursor,
        pytest.raises(ValueError, match="1 placeholders and 2 parameters"),
    ):
        prepared.execute(cursor, COUNT_SQL, ["approval", "extra"])

    assert queries.captured_queries == []


def test_a_statement_that_is_not_a_prepared_execute_is_returned_as_it_is() -> None:
    assert prepared.statement("EXECUTE pb_0123456789abcdef0123('x')") == "EXECUTE pb_0123456789abcdef0123('x')"
    assert prepared.statement("SELECT 1") == "SELECT 1"
