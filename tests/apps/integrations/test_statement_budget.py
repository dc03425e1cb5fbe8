"""What a one-service-task instance costs the database: a budget that only a deliberate change moves.

The benchmark measures speed; this pins down the work. Each statement here is a round trip and ORM
time on every instance (docs/performance.md): start -> `core.echo` -> end used 36 statements and 3
commits before the statements were cut to what the step needs.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core import prepared
from apps.instances.models import ProcessInstance
from apps.instances.services import instance_start
from tests.apps.integrations import samples
from tests.apps.integrations.conftest import MemoryBroker, only_call, run

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

Start = Callable[..., ProcessInstance]


def _statements(queries: CaptureQueriesContext) -> list[str]:
    return [prepared.statement(q["sql"]).split()[0].upper() for q in queries.captured_queries]


def test_a_service_task_instance_costs_six_statements_to_start_and_thirteen_to_run(
    start: Start, broker: MemoryBroker
) -> None:
    first = start(samples.ECHO, value=1)  # deploys; reads the model and the system row into the caches
    run(only_call(first))

    with CaptureQueriesContext(connection) as starting:
        instance = instance_start(process_key=first.process_key, variables={"value": 2}, started_by=None)
    call = only_call(instance)
    with CaptureQueriesContext(connection) as running:
        assert run(call) == "result"

    assert ProcessInstance.objects.get(pk=instance.pk).status == "completed"
    # definition, BEGIN, outbox row, audit events, the instance row, COMMIT
    assert _statements(starting) == ["SELECT", "BEGIN", "INSERT", "INSERT", "INSERT", "COMMIT"]
    # claim: call, BEGIN, system lock, conditional UPDATE, COMMIT; record and apply: BEGIN, instance lock,
    # call UPDATE, SAVEPOINT, audit events, instance UPDATE, RELEASE, COMMIT
    assert _statements(running) == [
        "SELECT", "BEGIN", "SELECT", "UPDATE", "COMMIT",
        "BEGIN", "SELECT", "UPDATE", "SAVEPOINT", "INSERT", "UPDATE", "RELEASE", "COMMIT",
    ]
    # No SLA and no message waits in this model: those tables are not asked.
    side_tables = re.compile(r'\b(FROM|JOIN|INTO|UPDATE)\s+"(sla_\w+|instances_messagesubscription)"')
    ran = [prepared.statement(q["sql"]) for q in running.captured_queries]
    assert not [sql for sql in ran if side_tables.search(sql)]


def test_a_session_bounds_every_lock_wait_and_never_jit_compiles() -> None:
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        timeout = cursor.fetchone()
        cursor.execute("SHOW jit")
        jit = cursor.fetchone()
    assert (timeout, jit) == (("5s",), ("off",))
