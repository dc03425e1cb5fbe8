"""The bench's finish log and counter, recorded by a trigger inside the step that finishes an instance."""

from __future__ import annotations

import pytest
from django.db import connection

from apps.bench import database
from apps.definitions.services import definition_deploy
from apps.instances.models import ProcessInstance
from apps.instances.services import instance_cancel, instance_start
from tests.apps.instances import samples

# DDL is transactional on PostgreSQL: the test's rollback drops the trigger, the table and the sequence.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def finish_log() -> None:
    with connection.cursor() as cursor:
        cursor.execute(database._DONE_TABLE)
        cursor.execute(database._DONE_SEQUENCE)
        cursor.execute(database._DONE_FUNCTION)
        cursor.execute(database._DONE_TRIGGER.format(table=ProcessInstance._meta.db_table))


def _started() -> ProcessInstance:
    return instance_start(process_key="approval", variables={"amount": 5}, started_by=None)


def test_the_finish_counter_counts_each_instance_that_finished_after_it_was_made_once(finish_log: None) -> None:
    definition_deploy(filename="approval.bpmn", content=samples.APPROVAL, deployed_by=None)
    before = _started()
    instance_cancel(instance=before, actor=None)
    finished = database.finish_counter()
    waiting = [_started() for _ in range(3)]
    assert finished() == 0

    for instance in waiting[:2]:
        instance_cancel(instance=instance, actor=None)
    ProcessInstance.objects.filter(pk=waiting[0].pk).update(status="failed")  # already in the log

    assert finished() == 2
    assert database.done_count(before.started_at) == 3
