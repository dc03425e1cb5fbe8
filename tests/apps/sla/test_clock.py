"""SLA clocks through real steps: started and stopped by the effect handler, fired by the sweep, paused."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core import prepared
from apps.instances.models import InstanceEvent, ProcessInstance
from apps.instances.services import instance_cancel, instance_resume, instance_suspend
from apps.sla.models import Deadline, SlaBreach, SlaPolicy
from apps.sla.services import sla_policies_replace
from apps.sla.sweep import deadlines_fire_due, deadlines_reconcile_suspensions, sla_sweep
from apps.worklist.models import WorkItem
from apps.worklist.services import work_item_complete
from tests.apps.sla import samples

pytestmark = pytest.mark.django_db


def test_clocks_start_with_the_instance_and_the_user_task(deploy, start):
    deploy(samples.REVIEW)
    instance = start("review_sla")
    rows = {d.activity_id: d for d in Deadline.objects.filter(instance=instance)}
    assert set(rows) == {"", "review"}
    review = rows["review"]
    assert review.due_at - review.started_at == timedelta(hours=1)
    assert review.at_risk_at - review.started_at == timedelta(minutes=45)
    assert review.next_check_at == review.at_risk_at
    assert review.group == "agent" and review.work_item_id is not None
    assert rows[""].started_at == instance.started_at
    assert rows[""].policy == "review_sla/process (model)"


def test_completing_the_task_stops_its_clock_in_time(deploy, start, users):
    deploy(samples.REVIEW)
    instance = start("review_sla")
    item = WorkItem.objects.get(instance=instance, activity_id="review")
    work_item_complete(user=users["agent"], work_item_id=item.pk, variables={})
    rows = {d.activity_id: d for d in Deadline.objects.filter(instance=instance)}
    assert rows["review"].outcome == "met" and rows["review"].next_check_at is None
    assert rows[""].outcome == "met" and rows[""].stopped_at is not None


def test_an_instance_done_in_its_first_step_gets_a_stopped_process_clock(deploy, start):
    deploy(samples.INSTANT)
    instance = start("instant")
    clock = Deadline.objects.get(instance=instance)
    assert clock.outcome == "met" and clock.stopped_at is not None


def test_the_sweep_records_at_risk_then_breach_once_each_with_trail_events(deploy, start):
    deploy(samples.REVIEW)
    instance = start("review_sla")
    review = Deadline.objects.get(instance=instance, activity_id="review")
    assert deadlines_fire_due(now=review.at_risk_at - timedelta(seconds=1)) == 0
    assert deadlines_fire_due(now=review.at_risk_at + timedelta(seconds=1)) == 1
    assert deadlines_fire_due(now=review.at_risk_at + timedelta(seconds=2)) == 0
    later = review.due_at + timedelta(seconds=1)
    assert deadlines_fire_due(now=later) == 1  # the review breach (the process clock is only at risk at 96 min)
    assert deadlines_fire_due(now=later) == 0
    kinds = sorted(SlaBreach.objects.filter(instance=instance).values_list("activity_id", "kind"))
    assert kinds == [("review", "at_risk"), ("review", "breached")]
    events = list(InstanceEvent.objects.filter(instance=instance, type__startswith="sla.")
                  .values_list("type", flat=True))
    assert events == ["sla.at_risk", "sla.breached"]
    review.refresh_from_db()
    assert review.next_check_at is None and review.breached_at is not None


def test_a_sweep_that_was_down_fires_both_thresholds_in_order(deploy, start):
    deploy(samples.REVIEW)
    instance = start("review_sla")
    assert sla_sweep(now=timezone.now() + timedelta(hours=3)) == 4  # review and process: at risk + breach
    seqs = list(InstanceEvent.objects.filter(instance=instance, type__startswith="sla.").order_by("seq")
                .values_list("type", "activity_id"))
    assert seqs[0] == ("sla.at_risk", seqs[0][1]) and seqs[1][0] == "sla.breached"


def test_a_late_completion_is_missed(deploy, start, users):
    deploy(samples.REVIEW)
    instance = start("review_sla")
    deadlines_fire_due(now=timezone.now() + timedelta(hours=1, minutes=1))
    item = WorkItem.objects.get(instance=instance, activity_id="review")
    work_item_complete(user=users["agent"], work_item_id=item.pk, variables={})
    assert Deadline.objects.get(instance=instance, activity_id="review").outcome == "missed"


def test_cancel_aborts_every_clock(deploy, start, users):
    deploy(samples.REVIEW)
    instance = start("review_sla")
    instance_cancel(instance=instance, actor=users["ops"])
    assert set(Deadline.objects.filter(instance=instance).values_list("outcome", flat=True)) == {"aborted"}


def test_suspension_pauses_the_clock_and_resume_pushes_the_due_time(deploy, start, users):
    deploy(samples.REVIEW)
    instance = start("review_sla")
    review = Deadline.objects.get(instance=instance, activity_id="review")
    instance_suspend(instance=instance, actor=users["ops"])
    assert deadlines_reconcile_suspensions() == 1
    review.refresh_from_db()
    assert review.paused_at is not None and review.next_check_at is None
    # While paused, nothing fires even long after the due time.
    assert deadlines_fire_due(now=timezone.now() + timedelta(hours=5)) == 0
    suspended_at = review.paused_at
    # Pretend the suspension lasted 30 minutes: move the trail's resume event.
    instance_resume(instance=instance, actor=users["ops"])
    InstanceEvent.objects.filter(instance=instance, type="instance.resumed").update(
        at=suspended_at + timedelta(minutes=30))
    assert deadlines_reconcile_suspensions() == 1
    moved = Deadline.objects.get(pk=review.pk)
    assert moved.paused_at is None
    assert moved.due_at == review.due_at + timedelta(minutes=30)
    assert moved.at_risk_at == review.at_risk_at + timedelta(minutes=30)
    assert moved.next_check_at == moved.at_risk_at


def test_an_override_gives_a_plain_model_an_sla_and_disabling_removes_one(deploy, start):
    deploy(samples.PLAIN)
    SlaPolicy.objects.create(process_key="plain", activity_id="work", target=timedelta(minutes=10))
    instance = start("plain")
    clock = Deadline.objects.get(instance=instance)
    assert clock.activity_id == "work" and clock.due_at - clock.started_at == timedelta(minutes=10)
    assert clock.at_risk_at - clock.started_at == timedelta(minutes=8)  # 80 % by default
    assert clock.policy == "plain/work (override)"
    deploy(samples.REVIEW)
    SlaPolicy.objects.create(process_key="review_sla", activity_id="review", enabled=False)
    other = start("review_sla")
    assert list(Deadline.objects.filter(instance=other).values_list("activity_id", flat=True)) == [""]


def test_another_process_override_applies_once_the_cached_none_expires(deploy, start, settings):
    deploy(samples.PLAIN)
    settings.PATCHBAY_SLA_POLICY_CACHE_MS = 60_000
    start("plain")  # this process now remembers that "plain" has no override
    # Written as another process would: no signal reaches this one.
    SlaPolicy.objects.bulk_create([SlaPolicy(process_key="plain", activity_id="work", target=timedelta(minutes=10))])

    within_ttl = start("plain")
    settings.PATCHBAY_SLA_POLICY_CACHE_MS = 0
    after_ttl = start("plain")

    assert not Deadline.objects.filter(instance=within_ttl).exists()
    assert Deadline.objects.get(instance=after_ttl).activity_id == "work"


def test_an_override_saved_in_this_process_applies_to_the_next_step(deploy, start, settings):
    deploy(samples.PLAIN)
    settings.PATCHBAY_SLA_POLICY_CACHE_MS = 60_000
    start("plain")
    sla_policies_replace(process_key="plain", items=[{"activity_id": "work", "target": "PT10M"}])

    instance = start("plain")

    assert Deadline.objects.get(instance=instance).activity_id == "work"


def test_an_instance_without_policies_or_clocks_asks_no_sla_table(deploy, start, users):
    deploy(samples.PLAIN)
    instance = start("plain")
    item = WorkItem.objects.get(instance=instance)
    with CaptureQueriesContext(connection) as queries:
        work_item_complete(user=users["agent"], work_item_id=item.pk, variables={})
    sla_tables = re.compile(r'\b(FROM|JOIN|INTO|UPDATE)\s+"sla_')
    assert not [q["sql"] for q in queries.captured_queries if sla_tables.search(prepared.statement(q["sql"]))]


def test_the_clock_flag_follows_the_running_clocks(deploy, start, users):
    deploy(samples.REVIEW)
    instance = start("review_sla")
    assert ProcessInstance.objects.get(pk=instance.pk).sla_clocks is True
    item = WorkItem.objects.get(instance=instance, activity_id="review")
    work_item_complete(user=users["agent"], work_item_id=item.pk, variables={})
    assert ProcessInstance.objects.get(pk=instance.pk).sla_clocks is False


def test_properties_declare_business_time_slas(deploy, start):
    deploy(samples.REVIEW_PROPS)
    instance = start("review_props")
    clock = Deadline.objects.get(instance=instance)
    assert clock.calendar == "business" and clock.timezone == "Europe/Vienna"
    assert clock.due_at > clock.started_at
