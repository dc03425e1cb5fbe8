"""`notify.send` against the sandbox: recorded once per idempotency key."""

from __future__ import annotations

import pytest

from apps.integrations.notify.connector import NotifyConnector
from apps.sandbox.models import Notification
from tests.apps.sandbox import kit
from tests.apps.sandbox.kit import Sandbox, context

pytestmark = pytest.mark.django_db(transaction=True)
systems = kit.systems  # the fixture: the sandbox on the live server
SMS = {"channel": "sms", "to": "+4915100000", "template": "order_confirmed", "data": {"order_id": "O-1"}}


def test_a_notification_is_recorded_once_per_key(systems: Sandbox) -> None:
    notify = NotifyConnector()
    first = notify.call("send", SMS, context("notify.send", key="i:1"))
    assert notify.call("send", SMS, context("notify.send", key="i:1")) == first
    assert first["notification_id"].startswith("ntf_")
    row = Notification.objects.get()
    assert (row.channel, row.template, row.data) == ("sms", "order_confirmed", {"order_id": "O-1"})
