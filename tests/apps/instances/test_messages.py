"""`POST /messages/`, the subscription index, and routing of messages thrown by instances."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.definitions.models import ProcessDefinition
from apps.instances import tasks
from apps.instances.messaging import outbound_messages_route_pending, subscribed_instance_ids
from apps.instances.models import InstanceEvent, MessageSubscription, OutboundMessage, ProcessInstance
from apps.instances.services import instance_cancel, instance_start, instance_suspend
from tests.apps.instances import messaging_samples as ms
from tests.apps.instances import samples

Deploy = Callable[[bytes], ProcessDefinition]
URL = "/api/v1/messages/"


def post(client: APIClient, body: dict[str, Any]) -> Any:
    return client.post(URL, body, format="json")


@pytest.fixture
def two_waiting(deploy: Deploy, users: dict[str, Any]) -> tuple[ProcessInstance, ProcessInstance]:
    deploy(ms.WAIT_PAYMENT)
    first = instance_start(process_key="wait_payment", variables={"order_id": "o-1"}, started_by=users["agent"])
    second = instance_start(process_key="wait_payment", variables={"order_id": "o-2"}, started_by=users["agent"])
    return first, second


def test_a_waiting_instance_is_indexed_with_its_correlation(two_waiting: tuple[ProcessInstance, ...]) -> None:
    first, _ = two_waiting
    [row] = MessageSubscription.objects.filter(instance=first)
    assert (row.name, row.activity_id) == ("payment_confirmed", "payment_received")
    assert row.correlation == {"order_id": "o-1"}
    assert row.correlation_key == '{"order_id":"o-1"}'


def test_each_waiting_instance_receives_only_its_own_message(
    two_waiting: tuple[ProcessInstance, ProcessInstance], clients: dict[str, APIClient]
) -> None:
    first, second = two_waiting

    answer = post(clients["ops"], {"name": "payment_confirmed", "correlation": {"order_id": "o-2"},
                                   "variables": {"paid": 20}})

    assert answer.status_code == 200, answer.json()
    assert answer.json() == {"instance_ids": [str(second.pk)], "action": "delivered"}
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.status == "completed"
    assert second.variables["recorded"] == ["o-2", 20]
    assert second.completed_activities[-3:] == ["payment_received", "record", "end"]
    assert not MessageSubscription.objects.filter(instance=second).exists()  # finished: index emptied
    assert first.status == "waiting" and "paid" not in first.variables
    assert first.active_activities == ["payment_received"]
    received = InstanceEvent.objects.get(instance=second, type="message.received")
    assert (received.actor, received.data["correlation"]) == ("ops", {"order_id": "o-2"})

    answer = post(clients["agent"], {"name": "payment_confirmed", "correlation": {"order_id": "o-1"},
                                     "variables": {"paid": 10}})
    assert answer.json()["instance_ids"] == [str(first.pk)]
    first.refresh_from_db()
    assert first.variables["recorded"] == ["o-1", 10]


def test_extra_correlation_properties_are_ignored_and_a_mismatch_never_delivers(
    two_waiting: tuple[ProcessInstance, ProcessInstance], clients: dict[str, APIClient]
) -> None:
    first, _ = two_waiting
    assert subscribed_instance_ids(name="payment_confirmed", correlation={"order_id": "o-1", "region": "eu"}) == [
        first.pk
    ]
    assert subscribed_instance_ids(name="payment_confirmed", correlation={"order_id": "o-3"}) == []
    assert subscribed_instance_ids(name="payment_confirmed", correlation={}) == []
    # JSON equality: the number 1 is not the text "o-1", nor is "O-1".
    for wrong in ({"order_id": "O-1"}, {"order_id": 1}, {"customer": "o-1"}):
        answer = post(clients["ops"], {"name": "payment_confirmed", "correlation": wrong, "variables": {"paid": 1}})
        assert answer.status_code == 404, wrong
    first.refresh_from_db()
    assert first.status == "waiting" and "paid" not in first.variables


def test_a_message_for_nobody_is_404_and_changes_nothing(
    two_waiting: tuple[ProcessInstance, ProcessInstance], clients: dict[str, APIClient]
) -> None:
    before = {i.pk: (i.event_seq, i.status) for i in ProcessInstance.objects.all()}
    count = ProcessInstance.objects.count()

    answer = post(clients["ops"], {"name": "nobody_waits", "correlation": {"order_id": "o-1"}})

    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "no_subscription"
    assert ProcessInstance.objects.count() == count
    assert {i.pk: (i.event_seq, i.status) for i in ProcessInstance.objects.all()} == before


def test_a_subscription_expecting_no_values_matches_any_correlation(
    deploy: Deploy, users: dict[str, Any], clients: dict[str, APIClient]
) -> None:
    deploy(samples.PING_COUNTER)
    instance = instance_start(process_key="ping_counter", variables={"limit": 2}, started_by=users["agent"])

    answer = post(clients["ops"], {"name": "ping", "correlation": {"anything": "x"}})

    assert answer.json()["instance_ids"] == [str(instance.pk)]
    instance.refresh_from_db()
    assert instance.variables["count"] == 1
    # It loops back to wait for `ping` again: the subscription is replaced, not duplicated.
    assert MessageSubscription.objects.filter(instance=instance).count() == 1


def test_suspended_and_cancelled_instances_receive_nothing(
    two_waiting: tuple[ProcessInstance, ProcessInstance], clients: dict[str, APIClient], users: dict[str, Any]
) -> None:
    first, second = two_waiting
    instance_suspend(instance=first, actor=users["ops"])
    instance_cancel(instance=second, actor=users["ops"])

    assert not MessageSubscription.objects.filter(instance=second).exists()
    answer = post(clients["ops"], {"name": "payment_confirmed", "correlation": {"order_id": "o-1"}})
    assert answer.status_code == 404


def test_a_message_start_event_starts_an_instance(
    deploy: Deploy, clients: dict[str, APIClient], users: dict[str, Any]
) -> None:
    deploy(ms.ORDER)

    answer = post(clients["agent"], {"name": "order_placed", "correlation": {"order_id": "o-7"},
                                     "variables": {"items": 3}, "business_key": "o-7"})

    assert answer.status_code == 200, answer.json()
    [instance_id] = answer.json()["instance_ids"]
    assert answer.json()["action"] == "started"
    instance = ProcessInstance.objects.get(pk=instance_id)
    assert (instance.process_key, instance.business_key, instance.status) == ("order", "o-7", "waiting")
    assert instance.variables["accepted"] == "o-7" and instance.variables["items"] == 3
    assert instance.completed_activities[:2] == ["order_received", "accept"]
    assert instance.started_by == users["agent"]
    assert InstanceEvent.objects.filter(instance=instance, type="message_start.fired").exists()
    # Idempotent by business key: the same start again while it runs is a 409 and starts nothing.
    again = post(clients["agent"], {"name": "order_placed", "correlation": {"order_id": "o-7"}, "business_key": "o-7"})
    assert again.status_code == 409
    assert ProcessInstance.objects.filter(process_key="order").count() == 1


def test_only_the_latest_version_is_started_by_a_message(deploy: Deploy, clients: dict[str, APIClient]) -> None:
    deploy(ms.ORDER)
    newer = deploy(ms.ORDER.replace(b'name="Ship"', b'name="Ship it"'))

    answer = post(clients["ops"], {"name": "order_placed", "correlation": {"order_id": "o-8"}})

    instance = ProcessInstance.objects.get(pk=answer.json()["instance_ids"][0])
    assert instance.definition_id == newer.pk


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x", "correlation": {"order": {"nested": 1}}}, "correlation"),
        ({"name": "x", "correlation": ["o-1"]}, "correlation"),
        ({"name": "x", "variables": "no"}, "variables"),
    ],
)
def test_invalid_bodies_are_400_naming_the_field(
    clients: dict[str, APIClient], body: dict[str, Any], field: str
) -> None:
    answer = post(clients["ops"], body)

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_input"
    assert field in {d["field"] for d in answer.json()["error"]["details"]}


def test_anonymous_callers_are_401(clients: dict[str, APIClient]) -> None:
    assert post(clients["anonymous"], {"name": "x"}).status_code == 401


def test_only_post_is_allowed(clients: dict[str, APIClient]) -> None:
    assert clients["ops"].get(URL).status_code == 405


def test_a_thrown_message_starts_the_process_with_a_message_start_event(
    deploy: Deploy, users: dict[str, Any]
) -> None:
    deploy(ms.CUSTOMER)
    deploy(ms.ORDER)
    customer = instance_start(process_key="customer", variables={"order_id": "o-42"}, started_by=users["agent"])
    [outbox] = OutboundMessage.objects.filter(source_instance=customer)
    assert (outbox.name, outbox.status, outbox.variables) == ("order_placed", "pending", {"order_id": "o-42"})

    tasks.route_thrown_message.apply(args=(str(outbox.pk),))

    outbox.refresh_from_db()
    [order] = ProcessInstance.objects.filter(process_key="order")
    assert (outbox.status, outbox.instance_ids) == ("delivered", [str(order.pk)])
    assert order.variables["accepted"] == "o-42"
    assert order.active_activities == ["ship"]
    # Routing is idempotent: a redelivered task (or the sweep) starts nothing more.
    tasks.route_thrown_message.apply(args=(str(outbox.pk),))
    assert outbound_messages_route_pending(older_than=timedelta(0)) == 0
    assert ProcessInstance.objects.filter(process_key="order").count() == 1


def test_a_thrown_message_reaches_the_instance_that_correlates_on_it(
    two_waiting: tuple[ProcessInstance, ProcessInstance], deploy: Deploy, users: dict[str, Any]
) -> None:
    first, second = two_waiting
    deploy(ms.PAYER)
    payer = instance_start(process_key="payer", variables={"order_id": "o-1", "amount": 99}, started_by=users["agent"])
    [outbox] = OutboundMessage.objects.filter(source_instance=payer)
    assert outbox.correlation == {"order_id": "o-1"}

    assert outbound_messages_route_pending(older_than=timedelta(0)) == 1

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == "completed" and first.variables["recorded"] == ["o-1", 99]
    assert second.status == "waiting"
    outbox.refresh_from_db()
    assert outbox.instance_ids == [str(first.pk)]
    assert InstanceEvent.objects.get(instance=first, type="message.received").actor == "system"


def test_a_thrown_message_nobody_waits_for_is_recorded_as_unmatched(deploy: Deploy, users: dict[str, Any]) -> None:
    deploy(ms.PAYER)
    payer = instance_start(process_key="payer", variables={"order_id": "o-5", "amount": 1}, started_by=users["agent"])

    assert outbound_messages_route_pending(older_than=timedelta(0)) == 1

    outbox = OutboundMessage.objects.get(source_instance=payer)
    assert (outbox.status, outbox.instance_ids) == ("unmatched", [])
    assert outbox.routed_at is not None
