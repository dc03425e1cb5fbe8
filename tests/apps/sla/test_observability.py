"""`/metrics` series of instances, steps, work items and SLAs; JSON logs carry instance id and business key."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.core.logging import JsonFormatter, log_context
from apps.instances.pipeline import SYSTEM_ACTOR
from apps.sla.sweep import deadlines_fire_due
from tests.apps.sla import samples

pytestmark = pytest.mark.django_db


def test_metrics_report_instances_steps_work_items_and_slas(deploy, start):
    deploy(samples.REVIEW)
    start("review_sla")
    deadlines_fire_due(now=timezone.now() + timedelta(minutes=61))
    text = Client().get("/metrics").content.decode()
    assert 'patchbay_instances_started_total{process="review_sla"} 1.0' in text
    assert 'patchbay_instances{process="review_sla",status="waiting"} 1.0' in text
    assert 'patchbay_work_items_open{group="agent"} 1.0' in text
    assert 'patchbay_sla_events_total{kind="breached",process="review_sla"} 1.0' in text
    assert 'patchbay_sla_open{process="review_sla",state="breached"} 1.0' in text
    assert 'patchbay_step_duration_seconds_count{command="start"}' in text
    assert "patchbay_timer_lateness_seconds_bucket" in text


def test_log_lines_inside_a_step_carry_instance_and_business_key(deploy, start, caplog):
    deploy(samples.REVIEW)
    instance = start("review_sla", business_key="ORD-9")
    formatter = JsonFormatter()
    with caplog.at_level(logging.INFO, logger="apps.sla.sweep"):
        deadlines_fire_due(now=timezone.now() + timedelta(minutes=61))
    line = json.loads(formatter.format(caplog.records[-1]))
    assert line["instance_id"] == str(instance.pk) and line["business_key"] == "ORD-9"
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "inside", None, None)
    with log_context(instance_id="abc", business_key="K"):
        inside = json.loads(formatter.format(record))
    assert inside["instance_id"] == "abc" and inside["business_key"] == "K"
    assert "instance_id" not in json.loads(formatter.format(record))
    assert SYSTEM_ACTOR == "system"


def test_pipeline_binds_the_log_context_for_handlers(deploy, start, monkeypatch):
    from apps.core import logging as core_logging
    from apps.instances import effects

    seen = []

    def handler(instance, result):
        seen.append(dict(core_logging._context.get() or {}))

    effects.register_effect_handler(handler)
    try:
        deploy(samples.REVIEW)
        instance = start("review_sla", business_key="ORD-10")
    finally:
        effects.unregister_effect_handler(handler)
    assert seen == [{"instance_id": str(instance.pk), "business_key": "ORD-10"}]
