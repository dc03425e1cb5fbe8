"""The step pipeline and the services on top of it, without HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import bpmn
from apps.core.errors import Conflict, NotFound
from apps.definitions.models import ProcessDefinition
from apps.instances import effects
from apps.instances.commands import (
    CancelCommand,
    CompleteWorkItemCommand,
    DeliverMessageCommand,
    FireTimersCommand,
    ResumeCommand,
    StartCommand,
    command_from_json,
)
from apps.instances.models import Incident, InstanceEvent, ProcessInstance
from apps.instances.pipeline import instance_step
from apps.instances.services import (
    incident_retry,
    instance_cancel,
    instance_resume,
    instance_start,
    instance_suspend,
)
from tests.apps.instances import samples

Deploy = Callable[[bytes], ProcessDefinition]


@pytest.fixture
def step_results() -> Iterator[list[tuple[ProcessInstance, bpmn.StepResult]]]:
    """Every successful step's (instance, result), captured through an effect handler."""
    seen: list[tuple[ProcessInstance, bpmn.StepResult]] = []

    def capture(instance: ProcessInstance, result: bpmn.StepResult) -> None:
        seen.append((instance, result))

    effects.register_effect_handler(capture)
    yield seen
    effects.unregister_effect_handler(capture)


def event_types(instance: ProcessInstance) -> list[str]:
    return list(
        InstanceEvent.objects.filter(instance=instance).order_by("seq").values_list("type", flat=True)
    )


def assert_consecutive_seq(instance: ProcessInstance) -> None:
    seqs = list(InstanceEvent.objects.filter(instance=instance).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    instance.refresh_from_db()
    assert instance.event_seq == len(seqs)


def test_start_runs_until_the_user_task_and_records_the_trail(deploy: Deploy, users: dict[str, Any]) -> None:
    definition = deploy(samples.APPROVAL)

    instance = instance_start(process_key="approval", variables={"order": 7}, started_by=users["agent"])

    instance.refresh_from_db()
    assert instance.status == "waiting"
    assert instance.definition == definition
    assert instance.active_activities == ["approve"]
    assert instance.completed_activities == ["start", "prepare"]
    assert instance.variables == {"order": 7, "prepared": True}
    assert instance.snapshot and instance.snapshot_version >= 1
    assert instance.ended_at is None
    types = event_types(instance)
    assert types[0] == "instance.started"
    assert types.count("activity.completed") == 2
    assert_consecutive_seq(instance)


def test_completing_the_work_item_finishes_and_appends_completed_activities(
    deploy: Deploy, users: dict[str, Any], step_results: list[Any]
) -> None:
    deploy(samples.APPROVAL)
    instance = instance_start(process_key="approval", started_by=users["agent"])
    [item] = step_results[-1][1].work_items_opened

    done = instance_step(
        instance_id=instance.pk,
        command=CompleteWorkItemCommand(work_item_id=item.id, variables={"approved": True}),
        actor="agent",
    )

    done.refresh_from_db()
    assert done.status == "completed"
    assert done.ended_at is not None
    assert done.completed_activities == ["start", "prepare", "approve", "finish", "end"]
    assert done.variables["approved"] is True
    assert event_types(done)[-1] == "instance.completed"
    assert InstanceEvent.objects.filter(instance=done, type="work_item.completed", actor="agent").exists()
    assert_consecutive_seq(done)


def test_a_rejected_command_is_a_409_and_changes_nothing(deploy: Deploy, users: dict[str, Any]) -> None:
    deploy(samples.APPROVAL)
    instance = instance_start(process_key="approval", started_by=users["agent"])
    instance.refresh_from_db()
    before = (instance.snapshot, instance.event_seq)

    with pytest.raises(Conflict) as err:
        instance_step(
            instance_id=instance.pk, command=CompleteWorkItemCommand(work_item_id="nope"), actor="x"
        )

    assert err.value.code == "task_not_found"
    instance.refresh_from_db()
    assert (instance.snapshot, instance.event_seq) == before
    assert not Incident.objects.exists()


def test_a_failing_start_leaves_a_readable_instance_with_a_retryable_incident(
    deploy: Deploy, users: dict[str, Any]
) -> None:
    deploy(samples.RATIO)

    instance = instance_start(process_key="ratio", variables={"total": 10}, started_by=users["agent"])

    instance.refresh_from_db()
    assert instance.status == "running"
    assert instance.snapshot == ""
    [incident] = Incident.objects.filter(instance=instance)
    assert incident.status == "open"
    assert incident.kind == "expression_error"
    assert incident.activity_id == "compute_ratio"
    assert incident.command == {"kind": "start", "variables": {"total": 10}}
    assert event_types(instance) == ["incident.opened"]

    fixed = incident_retry(incident_id=incident.pk, actor=users["ops"], variables={"count": 4})

    assert fixed.status == "resolved"
    instance.refresh_from_db()
    assert instance.status == "completed"
    assert instance.variables["ratio"] == 2.5
    assert event_types(instance)[-1] == "incident.resolved"
    assert_consecutive_seq(instance)


def test_a_failing_step_is_rolled_back_and_a_failed_retry_counts_an_attempt(
    deploy: Deploy, users: dict[str, Any], step_results: list[Any]
) -> None:
    deploy(samples.APPROVAL)
    instance = instance_start(process_key="approval", started_by=users["agent"])
    [item] = step_results[-1][1].work_items_opened
    instance.refresh_from_db()
    snapshot, completed = instance.snapshot, list(instance.completed_activities)

    def explode(instance: ProcessInstance, result: bpmn.StepResult) -> None:
        raise RuntimeError("worklist is broken")

    effects.register_effect_handler(explode)
    try:
        instance_step(
            instance_id=instance.pk, command=CompleteWorkItemCommand(work_item_id=item.id), actor="agent"
        )
        [incident] = Incident.objects.filter(instance=instance)
        again = incident_retry(incident_id=incident.pk, actor=users["ops"])
    finally:
        effects.unregister_effect_handler(explode)

    instance.refresh_from_db()
    assert instance.snapshot == snapshot
    assert instance.completed_activities == completed
    assert instance.status == "waiting"
    assert incident.kind == "step_failed" and "worklist is broken" in incident.message
    assert again.status == "open" and again.attempts == 2

    resolved = incident_retry(incident_id=incident.pk, actor=users["ops"])

    assert resolved.status == "resolved"
    instance.refresh_from_db()
    assert instance.status == "completed"
    types = event_types(instance)
    assert types.count("incident.opened") == 1
    assert types.count("incident.retry_failed") == 1
    assert types[-2:] == ["instance.completed", "incident.resolved"]
    assert_consecutive_seq(instance)


def test_an_uncaught_bpmn_error_fails_the_instance_with_an_incident(
    deploy: Deploy, users: dict[str, Any]
) -> None:
    deploy(
        samples.model(
            "erroring",
            f"""
{samples.START}
<bpmn:endEvent id="end_error"><bpmn:errorEventDefinition errorRef="bad"/></bpmn:endEvent>
{samples.chain("start", "end_error")}
""",
            extra='<bpmn:error id="bad" name="bad" errorCode="bad"/>\n',
        )
    )

    instance = instance_start(process_key="erroring", started_by=users["agent"])

    instance.refresh_from_db()
    assert instance.status == "failed"
    assert instance.ended_at is not None
    [incident] = instance.incidents.all()
    assert incident.kind == "uncaught_error"
    assert incident.command is None
    assert "incident.opened" in event_types(instance)
    assert event_types(instance)[-1] == "instance.failed"
    with pytest.raises(Conflict) as err:
        incident_retry(incident_id=incident.pk, actor=users["ops"])
    assert err.value.code == "incident_not_retryable"


def test_suspend_blocks_commands_until_resume(deploy: Deploy, users: dict[str, Any]) -> None:
    deploy(samples.HOURLY)
    instance = instance_start(process_key="hourly", started_by=users["agent"])

    instance_suspend(instance=instance, actor=users["ops"])
    instance.refresh_from_db()
    assert (instance.status, instance.suspended_from) == ("suspended", "waiting")
    for command in (FireTimersCommand(), DeliverMessageCommand(name="x")):
        with pytest.raises(Conflict) as err:
            instance_step(instance_id=instance.pk, command=command, actor="x")
        assert err.value.code == "instance_suspended"
    with pytest.raises(Conflict) as err:
        instance_suspend(instance=instance, actor=users["ops"])
    assert err.value.code == "instance_suspended"

    instance_resume(instance=instance, actor=users["ops"])
    instance.refresh_from_db()
    assert (instance.status, instance.suspended_from) == ("waiting", "")
    with pytest.raises(Conflict) as err:
        instance_resume(instance=instance, actor=users["ops"])
    assert err.value.code == "instance_not_suspended"
    assert event_types(instance)[-2:] == ["instance.suspended", "instance.resumed"]


def test_cancel_ends_even_a_suspended_instance_and_then_nothing_applies(
    deploy: Deploy, users: dict[str, Any]
) -> None:
    deploy(samples.HOURLY)
    instance = instance_start(process_key="hourly", started_by=users["agent"])
    instance_suspend(instance=instance, actor=users["ops"])

    instance_cancel(instance=instance, actor=users["ops"])

    instance.refresh_from_db()
    assert instance.status == "cancelled"
    assert instance.ended_at is not None and instance.next_timer_at is None
    assert event_types(instance)[-1] == "instance.cancelled"
    for command in (CancelCommand(), ResumeCommand(), FireTimersCommand()):
        with pytest.raises(Conflict) as err:
            instance_step(instance_id=instance.pk, command=command, actor="x")
        assert err.value.code == "instance_finished"


def test_cancelling_an_instance_whose_start_failed_resolves_its_incident(
    deploy: Deploy, users: dict[str, Any]
) -> None:
    deploy(samples.BROKEN)
    instance = instance_start(process_key="broken", business_key="b-1", started_by=users["agent"])

    instance_cancel(instance=instance, actor=users["ops"])

    instance.refresh_from_db()
    assert instance.status == "cancelled"
    assert instance.incidents.get().status == "resolved"
    # The business key is free again once the instance has ended.
    assert (
        instance_start(process_key="broken", business_key="b-1", started_by=users["agent"]).pk != instance.pk
    )


def test_duplicate_business_key_while_unfinished_is_a_conflict(deploy: Deploy, users: dict[str, Any]) -> None:
    deploy(samples.APPROVAL)
    instance_start(process_key="approval", business_key="order-1", started_by=users["agent"])

    with pytest.raises(Conflict) as err:
        instance_start(process_key="approval", business_key="order-1", started_by=users["agent"])

    assert err.value.code == "duplicate_business_key"
    assert ProcessInstance.objects.count() == 1
    # Without a business key there is no idempotency to enforce.
    instance_start(process_key="approval", started_by=users["agent"])
    instance_start(process_key="approval", started_by=users["agent"])
    assert ProcessInstance.objects.count() == 3


def test_start_on_an_instance_that_started_is_rejected(deploy: Deploy, users: dict[str, Any]) -> None:
    deploy(samples.APPROVAL)
    instance = instance_start(process_key="approval", started_by=users["agent"])

    with pytest.raises(Conflict) as err:
        instance_step(instance_id=instance.pk, command=StartCommand(), actor="x")

    assert err.value.code == "instance_already_started"


def test_unknown_instance_is_not_found(db: None) -> None:
    with pytest.raises(NotFound):
        instance_step(instance_id="00000000-0000-0000-0000-000000000000", command=CancelCommand(), actor="x")


def test_effect_handlers_get_the_stepped_instance_and_enqueue_only_on_commit(
    deploy: Deploy, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    deploy(samples.APPROVAL)
    sent: list[str] = []
    seen: list[tuple[str, str]] = []

    def handler(instance: ProcessInstance, result: bpmn.StepResult) -> None:
        from django.db import transaction

        seen.append((instance.status, result.status))
        transaction.on_commit(lambda: sent.append(str(instance.pk)))

    effects.register_effect_handler(handler)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            instance = instance_start(process_key="approval", started_by=users["agent"])
        assert sent == []
        for callback in callbacks:
            callback()
    finally:
        effects.unregister_effect_handler(handler)
    assert sent == [str(instance.pk)]
    assert seen == [("waiting", "waiting")]  # the object already holds the step's outcome


def test_fields_an_effect_handler_declares_are_saved_with_the_step(
    deploy: Deploy, users: dict[str, Any], step_results: list[Any]
) -> None:
    deploy(samples.APPROVAL)
    instance = instance_start(process_key="approval", started_by=users["agent"])
    [item] = step_results[-1][1].work_items_opened

    def handler(instance: ProcessInstance, result: bpmn.StepResult) -> None:
        instance.sla_clocks = True

    effects.register_effect_handler(handler, fields=("sla_clocks",))
    try:
        instance_step(instance_id=instance.pk, command=CompleteWorkItemCommand(work_item_id=item.id), actor="agent")
    finally:
        effects.unregister_effect_handler(handler)
    assert ProcessInstance.objects.get(pk=instance.pk).sla_clocks is True


@pytest.mark.parametrize(
    "command",
    [
        StartCommand(variables={"a": 1}),
        CompleteWorkItemCommand(work_item_id="w", variables={"b": [1, 2]}),
        DeliverMessageCommand(name="paid", correlation={"order": 3}, variables={}),
        FireTimersCommand(),
        CancelCommand(),
        ResumeCommand(),
    ],
)
def test_commands_round_trip_through_json(command: Any) -> None:
    import json

    assert command_from_json(json.loads(json.dumps(command.to_json()))) == command


def test_unknown_command_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown command kind"):
        command_from_json({"kind": "explode"})
