"""Two sweeps at once on real PostgreSQL record every breach once (skipped elsewhere, failed in CI without it)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.instances.models import InstanceEvent
from apps.sla.models import EscalationDelivery, SlaBreach, SlaPolicy
from apps.sla.sweep import deadlines_fire_due
from tests.apps.instances.test_postgres import run_in_threads
from tests.apps.sla import samples

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
INSTANCES = 30
WORKERS = 4


def test_concurrent_sweeps_record_each_breach_once(deploy, start):
    deploy(samples.REVIEW)
    SlaPolicy.objects.create(process_key="review_sla", activity_id="review",
                             escalations=[{"action": "priority", "raise_by": 5}])
    instances = [start("review_sla", business_key=f"K-{i}") for i in range(INSTANCES)]
    later = timezone.now() + timedelta(hours=3)

    outcomes = run_in_threads(WORKERS, lambda _: sum(deadlines_fire_due(now=later) for _ in range(3)))

    assert all(isinstance(o, int) for o in outcomes), outcomes
    expected = INSTANCES * 2 * 2  # (process + review) x (at risk + breached)
    assert sum(outcomes) == expected  # each event counted by exactly one sweep
    assert SlaBreach.objects.count() == expected
    assert EscalationDelivery.objects.count() == INSTANCES
    for instance in instances:
        types = list(InstanceEvent.objects.filter(instance=instance, type__startswith="sla.").values_list("type",
                                                                                                          flat=True))
        assert sorted(types) == ["sla.at_risk", "sla.at_risk", "sla.breached", "sla.breached"]
    assert deadlines_fire_due(now=later) == 0
