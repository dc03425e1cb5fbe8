"""The ops dashboard and heatmap: access, content, and a bounded number of queries with 10,000 instances."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.instances.models import Incident, ProcessInstance
from apps.sla.models import Deadline, DeadlineOutcome, SlaBreach
from apps.worklist.models import WorkItem
from tests.apps.sla import samples
from tests.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.django_db
N = 10_000


def client_for(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=DEMO_PASSWORD)
    return client


def bulk_history(definition) -> None:
    """10,000 instances of `review_sla` over the last day: a clock per process and review each, mixed outcomes."""
    now = timezone.now()
    instances, clocks, items = [], [], []
    for i in range(N):
        started = now - timedelta(minutes=i % 1440)
        done = i % 3 != 0
        instance = ProcessInstance(
            id=uuid.uuid4(), definition=definition, process_key="review_sla", business_key=f"B-{i}",
            status="completed" if done else "waiting", active_activities=[] if done else ["review"],
            ended_at=started + timedelta(seconds=30 + i % 600) if done else None)
        instances.append(instance)
        for activity in ("", "review"):
            breached = i % 7 == 0
            clocks.append(Deadline(
                instance=instance, process_key="review_sla", activity_id=activity, group="agent" if activity else "",
                policy=f"review_sla/{activity or 'process'} (model)", started_at=started,
                at_risk_at=started + timedelta(minutes=45), due_at=started + timedelta(hours=1),
                at_risk_fired_at=started if breached or i % 5 == 0 else None,
                breached_at=started if breached else None,
                stopped_at=started + timedelta(seconds=20 + i % 300) if done else None,
                outcome=(DeadlineOutcome.MISSED if breached else DeadlineOutcome.MET) if done else ""))
        if done:
            items.append(WorkItem(id=uuid.uuid4(), instance=instance, process_key="review_sla", activity_id="review",
                                  name="Review", status="completed", created_at=started,
                                  completed_at=started + timedelta(seconds=15)))
    ProcessInstance.objects.bulk_create(instances, batch_size=2000)
    # auto_now_add ignores the value we set: spread the start times over the day afterwards.
    ProcessInstance.objects.update(started_at=now - timedelta(hours=2))
    Deadline.objects.bulk_create(clocks, batch_size=2000)
    WorkItem.objects.bulk_create(items, batch_size=2000)
    breached = Deadline.objects.filter(breached_at__isnull=False)[:50]
    SlaBreach.objects.bulk_create([SlaBreach(deadline=d, kind="breached", instance_id=d.instance_id,
                                             process_key=d.process_key, activity_id=d.activity_id, policy=d.policy,
                                             due_at=d.due_at, recorded_at=now) for d in breached])
    Incident.objects.bulk_create([Incident(instance=instances[i], kind="step_failed", message="boom", opened_at=now,
                                           command={"kind": "start", "variables": {}}) for i in range(0, 300, 3)])


def test_dashboard_needs_ops(users):
    assert client_for("agent").get("/ops/").status_code == 403
    assert Client().get("/ops/").status_code == 302


def test_dashboard_shows_open_breaches_and_charts(users, deploy, start):
    deploy(samples.REVIEW)
    instance = start("review_sla", business_key="ORD-77")
    from apps.sla.sweep import deadlines_fire_due

    deadlines_fire_due(now=timezone.now() + timedelta(minutes=61))
    page = client_for("ops").get("/ops/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "ORD-77" in html and "Breached" in html and "review" in html
    for canvas in ("chart-breach-rate", "chart-cycle-time", "chart-throughput"):
        assert f'id="{canvas}"' in html
    charts = json.loads(html.split('id="ops-charts-data" type="application/json">')[1].split("</script>")[0])
    assert set(charts) == {"labels", "breach_rate", "cycle", "throughput"}
    partial = client_for("ops").get("/ops/", {"state": "at_risk"}, HTTP_HX_REQUEST="true")
    assert "<html" not in partial.content.decode() and "ORD-77" not in partial.content.decode()
    filtered = client_for("ops").get("/ops/", {"process": "other"}).content.decode()
    assert "No SLA is breached or at risk" in filtered
    assert instance.pk


def test_dashboard_queries_are_bounded_with_10000_instances(users, deploy, django_assert_max_num_queries):
    definition = deploy(samples.REVIEW)
    bulk_history(definition)
    client = client_for("ops")
    with django_assert_max_num_queries(20):
        page = client.get("/ops/", {"hours": "24", "sort": "-group"})
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('class="sla-row') == 200  # the open-items table is capped
    assert "review_sla" in html
    with django_assert_max_num_queries(12):
        heat = client.get(f"/ops/processes/{definition.pk}/heatmap")
    config = json.loads(heat.content.decode().split('id="heatmap-config" type="application/json">')[1]
                        .split("</script>")[0])
    review = config["activities"]["review"]
    assert review["tokens"] == sum(1 for i in range(N) if i % 3 == 0)
    assert 0 < review["breach_rate"] < 1 and review["mean_seconds"] > 0


def test_incident_retry_from_the_dashboard(users, deploy):
    from apps.instances.services import instance_start

    deploy(samples.model("ratio", """
<bpmn:startEvent id="start"/><bpmn:scriptTask id="calc"><bpmn:script>r = 1 / n</bpmn:script></bpmn:scriptTask>
<bpmn:endEvent id="end"/>""" + samples.chain("start", "calc", "end")))
    instance = instance_start(process_key="ratio", variables={"n": 0}, started_by=users["admin"])
    incident = Incident.objects.get(instance=instance, status="open")
    client = client_for("ops")
    assert "Retry" in client.get("/ops/").content.decode()
    response = client.post(f"/ops/incidents/{incident.pk}/retry/", follow=True)
    assert "failed again" in response.content.decode()
    assert client.post("/ops/incidents/999999/retry/").status_code == 404
