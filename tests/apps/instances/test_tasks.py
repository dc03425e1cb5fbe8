"""The thin Celery tasks of the runtime, called in-process (no eager mode: `apply` runs one task)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest import mock

from apps.definitions.models import ProcessDefinition
from apps.instances import tasks
from apps.instances.commands import CancelCommand
from apps.instances.models import InstanceEvent, ProcessInstance
from apps.instances.services import instance_start
from tests.apps.instances import samples

Deploy = Callable[[bytes], ProcessDefinition]


def test_step_instance_applies_the_command_and_a_redelivery_is_harmless(
    deploy: Deploy, users: dict[str, Any]
) -> None:
    deploy(samples.APPROVAL)
    instance = instance_start(process_key="approval", started_by=users["agent"])
    payload = CancelCommand().to_json()

    tasks.step_instance.apply(args=(str(instance.pk), payload)).get()
    tasks.step_instance.apply(args=(str(instance.pk), payload)).get()  # at-least-once delivery

    instance.refresh_from_db()
    assert instance.status == "cancelled"
    assert (
        InstanceEvent.objects.filter(instance=instance, type="instance.cancelled", actor="system").count()
        == 1
    )


def test_step_instance_drops_commands_for_unknown_instances(db: None) -> None:
    tasks.step_instance.apply(args=("00000000-0000-0000-0000-000000000000", CancelCommand().to_json())).get()

    assert not ProcessInstance.objects.exists()


def test_enqueue_step_sends_only_after_commit(
    deploy: Deploy, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    deploy(samples.APPROVAL)
    instance = instance_start(process_key="approval", started_by=users["agent"])

    with mock.patch.object(tasks.step_instance, "apply_async") as send:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            tasks.enqueue_step(instance_id=str(instance.pk), command=CancelCommand())
        send.assert_not_called()
        for callback in callbacks:
            callback()

    send.assert_called_once_with((str(instance.pk), {"kind": "cancel"}), queue="engine")
