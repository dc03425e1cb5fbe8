"""Signals between instances: the subscription index, the outbox, broadcasting and `POST /signals/`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.definitions.models import ProcessDefinition
from apps.instances.commands import command_from_json
from apps.instances.models import OutboundSignal, ProcessInstance, SignalSubscription
from apps.instances.services import instance_start
from apps.instances.signals import (
    DeliverSignalCommand,
    outbound_signals_route_pending,
    route_thrown_signal,
    subscribed_instance_ids,
)
from tests.apps.instances.samples import END, START, chain, model, script

Deploy = Callable[[bytes], ProcessDefinition]
URL = "/api/v1/signals/"
SIGNAL = '<bpmn:signal id="go_signal" name="go"/>\n'
ON_GO = '<bpmn:signalEventDefinition signalRef="go_signal"/>'

WAITER = model("waiter", f"""{START}
<bpmn:intermediateCatchEvent id="wait_go">{ON_GO}</bpmn:intermediateCatchEvent>
{script("after", "seen = value_of('colour', 'none')")}{END}{chain("start", "wait_go", "after", "end")}""", extra=SIGNAL)

THROWER = model("thrower", f"""{START}
<bpmn:intermediateThrowEvent id="shout">{ON_GO}</bpmn:intermediateThrowEvent>
{END}{chain("start", "shout", "end")}""", extra=SIGNAL)

STARTED_BY_SIGNAL = model("on_go", f"""<bpmn:startEvent id="start">{ON_GO}</bpmn:startEvent>
{script("note", "noted = True")}{END}{chain("start", "note", "end")}""", extra=SIGNAL)

PLAIN = model("plain", f"{START}<bpmn:userTask id='work'/>{END}{chain('start', 'work', 'end')}")


@pytest.fixture
def waiting(deploy: Deploy, users: dict[str, Any]) -> ProcessInstance:
    deploy(WAITER)
    return instance_start(process_key="waiter", started_by=users["agent"])


def test_a_waiting_catch_event_is_indexed_and_the_index_follows_the_instance(
    waiting: ProcessInstance, clients: dict[str, APIClient]
) -> None:
    [row] = SignalSubscription.objects.filter(instance=waiting)
    assert (row.name, row.activity_id) == ("go", "wait_go")
    assert subscribed_instance_ids(name="go") == [waiting.pk]

    answer = clients["agent"].post(URL, {"name": "go", "variables": {"colour": "red"}}, format="json")

    assert answer.status_code == 200, answer.json()
    assert answer.json() == {"instance_ids": [str(waiting.pk)]}
    waiting.refresh_from_db()
    assert waiting.status == "completed" and waiting.variables["seen"] == "red"
    assert not SignalSubscription.objects.filter(instance=waiting).exists()


def test_a_broadcast_nobody_waits_for_is_200_with_no_instance(clients: dict[str, APIClient]) -> None:
    answer = clients["ops"].post(URL, {"name": "nobody_listens"}, format="json")
    assert answer.status_code == 200
    assert answer.json() == {"instance_ids": []}
    assert OutboundSignal.objects.get(name="nobody_listens").status == "unmatched"


def test_the_api_refuses_anonymous_callers_bad_input_and_other_methods(clients: dict[str, APIClient]) -> None:
    assert clients["anonymous"].post(URL, {"name": "go"}, format="json").status_code == 401
    assert clients["ops"].post(URL, {"variables": {}}, format="json").status_code == 400
    assert clients["ops"].get(URL).status_code == 405


def test_a_thrown_signal_reaches_every_waiting_instance_and_starts_signal_start_processes(
    deploy: Deploy, users: dict[str, Any]
) -> None:
    deploy(WAITER)
    deploy(STARTED_BY_SIGNAL)
    deploy(THROWER)
    first = instance_start(process_key="waiter", started_by=users["agent"])
    second = instance_start(process_key="waiter", started_by=users["agent"])
    thrower = instance_start(process_key="thrower", started_by=users["agent"])
    [outbox] = OutboundSignal.objects.filter(source_instance=thrower)
    assert (outbox.name, outbox.status) == ("go", "pending")

    route_thrown_signal.apply(args=(str(outbox.pk),))

    outbox.refresh_from_db()
    [started] = ProcessInstance.objects.filter(process_key="on_go")
    assert outbox.status == "delivered"
    assert sorted(outbox.instance_ids) == sorted([str(first.pk), str(second.pk), str(started.pk)])
    assert started.status == "completed" and started.variables["noted"] is True
    for instance in (first, second):
        instance.refresh_from_db()
        assert instance.status == "completed"
    # Routing is idempotent: a redelivered task or the sweep changes nothing more.
    route_thrown_signal.apply(args=(str(outbox.pk),))
    assert outbound_signals_route_pending(older_than=timedelta(0)) == 0
    assert ProcessInstance.objects.filter(process_key="on_go").count() == 1


def test_a_model_without_signals_writes_no_signal_rows(deploy: Deploy, users: dict[str, Any]) -> None:
    deploy(PLAIN)
    instance = instance_start(process_key="plain", started_by=users["agent"])
    assert instance.status == "waiting"
    assert not SignalSubscription.objects.exists() and not OutboundSignal.objects.exists()


def test_the_deliver_signal_command_round_trips_for_incident_retries() -> None:
    command = DeliverSignalCommand(name="go", variables={"a": 1})
    assert command_from_json(command.to_json()) == command
