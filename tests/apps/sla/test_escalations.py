"""Escalation actions of a breach: email, webhook, reassign, priority, and a message the model reacts to."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from apps.instances.models import InstanceEvent
from apps.sla.delivery import escalation_deliver, escalations_resend_stale
from apps.sla.models import EscalationDelivery, SlaBreach, SlaPolicy
from apps.sla.sweep import deadlines_fire_due
from apps.worklist.models import WorkItem
from tests.apps.sla import samples

pytestmark = pytest.mark.django_db


def breach_with(deploy, start, escalations: list[dict[str, Any]], capture) -> tuple[Any, list[Any]]:
    """Deploy REVIEW with an override carrying `escalations`, start it and let the review breach."""
    deploy(samples.REVIEW)
    SlaPolicy.objects.create(process_key="review_sla", activity_id="review", escalations=escalations)
    instance = start("review_sla")
    with capture(execute=False) as callbacks:
        deadlines_fire_due(now=timezone.now() + timedelta(minutes=61))
    return instance, callbacks


def run_deferred(monkeypatch) -> list[int]:
    """Run deferred deliveries synchronously in place of the Celery task (no eager Celery)."""
    ran: list[int] = []

    def delay(delivery_id: int) -> None:
        ran.append(delivery_id)
        escalation_deliver(delivery_id=delivery_id)

    monkeypatch.setattr("apps.sla.tasks.deliver_escalation.delay", delay)
    return ran


def test_email_is_sent_after_commit_through_the_email_backend(deploy, start, settings, monkeypatch,
                                                              django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    ran = run_deferred(monkeypatch)
    _, callbacks = breach_with(deploy, start, [{"action": "email", "to": ["noc@example.com"]}],
                               django_capture_on_commit_callbacks)
    assert mail.outbox == [] and len(callbacks) == 1  # nothing sent inside the sweep's transaction
    callbacks[0]()
    assert len(ran) == 1 and len(mail.outbox) == 1
    assert mail.outbox[0].to == ["noc@example.com"] and "breached" in mail.outbox[0].subject
    delivery = EscalationDelivery.objects.get()
    assert delivery.status == "done" and delivery.attempts == 1
    assert escalation_deliver(delivery_id=delivery.pk) == "not_pending"  # a redelivered task does nothing
    assert len(mail.outbox) == 1


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []
    status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append({"body": json.loads(body), "key": self.headers.get("Idempotency-Key")})
        self.send_response(_Hook.status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hook_server():
    _Hook.received, _Hook.status = [], 200
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_webhook_posts_the_breach_and_records_delivery(deploy, start, monkeypatch, hook_server,
                                                      django_capture_on_commit_callbacks):
    run_deferred(monkeypatch)
    instance, callbacks = breach_with(deploy, start, [{"action": "webhook", "url": hook_server}],
                                      django_capture_on_commit_callbacks)
    callbacks[0]()
    assert len(_Hook.received) == 1
    body = _Hook.received[0]["body"]
    assert body["event"] == "sla.breached" and body["instance_id"] == str(instance.pk)
    assert body["activity_id"] == "review" and _Hook.received[0]["key"].startswith("sla-escalation-")
    assert EscalationDelivery.objects.get().status == "done"


def test_webhook_server_errors_stay_pending_then_the_backstop_resends(deploy, start, monkeypatch, hook_server,
                                                                      django_capture_on_commit_callbacks):
    ran = run_deferred(monkeypatch)
    _Hook.status = 503
    _, callbacks = breach_with(deploy, start, [{"action": "webhook", "url": hook_server}],
                               django_capture_on_commit_callbacks)
    callbacks[0]()
    delivery = EscalationDelivery.objects.get()
    assert delivery.status == "pending" and "503" in delivery.detail
    _Hook.status = 200
    assert escalations_resend_stale(now=timezone.now() + timedelta(minutes=1)) == 1
    assert len(ran) == 2 and EscalationDelivery.objects.get().status == "done"


def test_reassign_and_priority_run_in_the_sweep(deploy, start, django_capture_on_commit_callbacks):
    instance, callbacks = breach_with(deploy, start, [
        {"on": "at_risk", "action": "priority", "raise_by": 20},
        {"action": "reassign", "group": "supervisors"},
    ], django_capture_on_commit_callbacks)
    assert callbacks == []  # nothing deferred
    item = WorkItem.objects.get(instance=instance, activity_id="review")
    assert item.priority == 70 and item.candidate_groups == ["supervisors"]
    assert set(EscalationDelivery.objects.values_list("action", "status")) == {("priority", "done"),
                                                                               ("reassign", "done")}
    types = list(InstanceEvent.objects.filter(instance=instance).order_by("seq").values_list("type", "actor"))
    assert ("work_item.priority_changed", "system") in types and ("work_item.reassigned", "system") in types
    assert types.index(("sla.at_risk", "system")) < types.index(("work_item.priority_changed", "system"))


def test_message_escalation_lets_the_model_react(deploy, start, monkeypatch, django_capture_on_commit_callbacks):
    run_deferred(monkeypatch)
    instance, callbacks = breach_with(deploy, start, [{"action": "message", "name": "sla_escalated"}],
                                      django_capture_on_commit_callbacks)
    callbacks[0]()
    assert EscalationDelivery.objects.get().status == "done"
    instance.refresh_from_db()
    # The non-interrupting boundary event fired: the review stays, a supervisor task opened, and the
    # event waits again for the next escalation while the review runs.
    assert set(instance.active_activities) == {"review", "escalated", "supervisor"}
    supervisor = WorkItem.objects.get(instance=instance, activity_id="supervisor")
    assert supervisor.candidate_groups == ["ops"]
    assert SlaBreach.objects.filter(instance=instance, kind="breached").count() == 1


def test_a_message_nobody_waits_for_is_skipped(deploy, start, monkeypatch, django_capture_on_commit_callbacks):
    run_deferred(monkeypatch)
    _, callbacks = breach_with(deploy, start, [{"action": "message", "name": "nobody_listens"}],
                               django_capture_on_commit_callbacks)
    callbacks[0]()
    delivery = EscalationDelivery.objects.get()
    assert delivery.status == "skipped" and "nobody_listens" in delivery.detail
