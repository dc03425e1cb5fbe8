"""`POST /messages/` reaches the message start event of an event sub-process while its scope runs.

The step records the event sub-process's message start as a subscription (routing index), so the
router finds the instance by message name and correlation; the row goes when the scope ends or an
interrupting event sub-process has fired.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.definitions.models import ProcessDefinition
from apps.instances.models import MessageSubscription, ProcessInstance
from apps.instances.services import instance_start
from tests.apps.instances import messaging_samples as ms
from tests.apps.instances.samples import END, START, chain, model, script

Deploy = Callable[[bytes], ProcessDefinition]
URL = "/api/v1/messages/"


def _order_process(key: str, *, interrupting: bool) -> bytes:
    """Waits at user task `work`; event sub-process `on_change`, started by message `order_changed`
    correlated on `order_id`, counts the changes."""
    flag = "" if interrupting else ' isInterrupting="false"'
    handler = f"""<bpmn:subProcess id="on_change" triggeredByEvent="true">
  <bpmn:startEvent id="change_received"{flag}>
    <bpmn:messageEventDefinition messageRef="order_changed"/>
  </bpmn:startEvent>
  {script("count_change", "changes = changes + 1")}<bpmn:endEvent id="change_done"/>
  {chain("change_received", "count_change", "change_done")}
</bpmn:subProcess>"""
    body = f'{START}<bpmn:userTask id="work"/>{END}{chain("start", "work", "end")}{handler}'
    return model(key, body, extra=ms.correlated_message("order_changed", key))


def _start(key: str, order_id: str, agent: Any) -> ProcessInstance:
    return instance_start(process_key=key, variables={"order_id": order_id, "changes": 0}, started_by=agent)


def _post(client: APIClient, order_id: str) -> Any:
    return client.post(URL, {"name": "order_changed", "correlation": {"order_id": order_id}}, format="json")


@pytest.mark.parametrize("interrupting", [True, False])
def test_event_sub_process_message_start_is_indexed_while_the_process_waits(
    deploy: Deploy, users: dict[str, Any], interrupting: bool
) -> None:
    deploy(_order_process("esp_orders", interrupting=interrupting))
    instance = _start("esp_orders", "o-1", users["agent"])

    [row] = MessageSubscription.objects.filter(instance=instance)
    assert (row.name, row.activity_id, row.correlation) == ("order_changed", "change_received", {"order_id": "o-1"})


def test_message_starts_an_interrupting_event_sub_process_which_ends_the_instance(
    deploy: Deploy, users: dict[str, Any], clients: dict[str, APIClient]
) -> None:
    deploy(_order_process("esp_orders", interrupting=True))
    instance = _start("esp_orders", "o-1", users["agent"])
    other = _start("esp_orders", "o-2", users["agent"])

    answer = _post(clients["ops"], "o-1")

    assert answer.status_code == 200, answer.json()
    assert answer.json()["instance_ids"] == [str(instance.pk)]
    instance.refresh_from_db()
    assert instance.status == "completed"
    assert "count_change" in instance.completed_activities and "end" not in instance.completed_activities
    assert not MessageSubscription.objects.filter(instance=instance).exists()
    other.refresh_from_db()
    assert other.status == "waiting" and other.active_activities == ["work"]
    assert _post(clients["ops"], "o-1").status_code == 404


def test_message_starts_a_non_interrupting_event_sub_process_again_and_again(
    deploy: Deploy, users: dict[str, Any], clients: dict[str, APIClient]
) -> None:
    deploy(_order_process("esp_orders", interrupting=False))
    instance = _start("esp_orders", "o-1", users["agent"])

    for _ in range(2):
        answer = _post(clients["ops"], "o-1")
        assert answer.status_code == 200, answer.json()
        assert answer.json()["instance_ids"] == [str(instance.pk)]

    instance.refresh_from_db()
    assert instance.status == "waiting" and instance.active_activities == ["work"]
    assert instance.completed_activities.count("count_change") == 2
    assert MessageSubscription.objects.filter(instance=instance, name="order_changed").count() == 1
    assert _post(clients["ops"], "o-2").status_code == 404
