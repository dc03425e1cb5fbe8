"""Work items projected from steps: opened on user tasks, closed as completed or cancelled."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from apps.instances.models import InstanceEvent
from apps.instances.services import instance_cancel
from apps.instances.timers_sweep import timers_fire_due
from apps.worklist.models import WorkItem, WorkItemCandidate
from apps.worklist.services import work_item_complete
from tests.apps.worklist import samples


def test_a_user_task_opens_a_work_item(deploy, people, start) -> None:
    deploy(samples.REVIEW)
    instance, item = start("review")
    assert item is not None
    assert str(item.pk) in str(instance.snapshot)  # the engine's own task id
    assert (item.status, item.activity_id, item.name, item.process_key) == ("open", "task", "Review order", "review")
    assert item.candidate_groups == ["sales"]
    assert item.priority == 60
    assert item.form["kind"] == "camunda"
    assert list(WorkItemCandidate.objects.filter(work_item=item).values_list("kind", "name")) == [("group", "sales")]


def test_completing_marks_the_item_completed_and_advances_the_instance(deploy, people, start) -> None:
    deploy(samples.PLAIN)
    instance, item = start("plain")
    done = work_item_complete(user=people["seller"], work_item_id=item.pk, variables={"ok": True})
    instance.refresh_from_db()
    assert (done.status, done.assignee, done.completed_by) == ("completed", people["seller"], people["seller"])
    assert done.completed_at is not None
    assert instance.status == "completed"
    assert instance.variables["ok"] is True
    types = list(InstanceEvent.objects.filter(instance=instance).values_list("type", flat=True))
    assert "work_item.claimed" in types and "work_item.completed" in types


def test_a_boundary_timer_cancels_the_item(deploy, people, start) -> None:
    deploy(samples.ESCALATED)
    instance, item = start("escalated")
    assert item.status == "open"
    assert timers_fire_due(now=timezone.now() + timedelta(hours=2)) == 1
    item.refresh_from_db()
    instance.refresh_from_db()
    assert item.status == "cancelled"
    assert item.completed_by is None
    assert instance.status == "completed"
    assert "escalated_end" in instance.completed_activities


def test_cancelling_the_instance_cancels_the_item(deploy, people, start) -> None:
    deploy(samples.PLAIN)
    instance, item = start("plain")
    instance_cancel(instance=instance, actor=people["ops"])
    item.refresh_from_db()
    assert item.status == "cancelled"


def test_dynamic_assignment_due_date_and_priority(deploy, people, start) -> None:
    deploy(samples.DYNAMIC)
    before = timezone.now()
    _, item = start("dynamic", region="north", helpers=["ann", "bob"], sla="PT2H", vip=True)
    assert item.candidate_groups == ["north_sales"]
    assert item.candidate_users == ["ann", "bob"]
    assert item.priority == 90
    assert before + timedelta(hours=2) <= item.due_at <= timezone.now() + timedelta(hours=2)


def test_a_failing_assignment_expression_fails_the_step_with_an_incident(deploy, people, start) -> None:
    deploy(samples.DYNAMIC)
    instance, item = start("dynamic", helpers=[], sla="PT1H", vip=False)  # no `region`
    assert item is None
    incident = instance.incidents.get()
    assert incident.kind == "expression_error"
    assert "region" in incident.message


def test_lane_and_assignee_from_the_model(deploy, people, start) -> None:
    deploy(samples.LANED)
    _, item = start("laned")
    assert item.candidate_groups == ["credit"]
    assert (item.status, item.assignee) == ("claimed", people["agent"])


def test_an_unknown_assignee_becomes_a_candidate_user(deploy, people, start) -> None:
    deploy(samples.one_task("ghost", '<bpmn:userTask id="task" camunda:assignee="nobody_yet"/>'))
    _, item = start("ghost")
    assert (item.status, item.assignee, item.candidate_users) == ("open", None, ["nobody_yet"])
    assert WorkItem.objects.count() == 1
