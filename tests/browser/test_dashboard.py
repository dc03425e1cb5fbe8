"""The ops dashboard in a browser: a breach row, the Chart.js charts, and the heatmap overlays."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.definitions.services import definition_deploy
from apps.instances.services import instance_start
from apps.sla.demo import DEMO_MODEL
from apps.sla.sweep import deadlines_fire_due

pytestmark = pytest.mark.django_db(transaction=True)


def test_ops_sees_a_breach_charts_and_the_heatmap(page, live_server, sign_in, users, screenshot):
    definition, _ = definition_deploy(filename="sla_demo.bpmn", content=DEMO_MODEL.read_bytes(), deployed_by=None)
    instance_start(process_key="sla_demo", business_key="ORD-LATE", started_by=users["admin"])
    instance_start(process_key="sla_demo", business_key="ORD-FRESH", started_by=users["admin"])
    deadlines_fire_due(now=timezone.now() + timedelta(seconds=31))

    sign_in("ops")
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Ops").click()
    page.wait_for_url(f"{live_server.url}/ops/")
    rows = page.locator("#open-items-table tbody tr")
    assert rows.count() >= 2
    late = page.locator("#open-items-table tbody tr", has_text="ORD-LATE").first
    assert "Breached" in late.inner_text() and "review_order" in late.inner_text()
    for canvas in ("chart-breach-rate", "chart-cycle-time", "chart-throughput"):
        page.wait_for_selector(f"canvas#{canvas}[data-chart-state='ready']")
    page.get_by_label("State").select_option("at_risk")
    page.wait_for_function("!document.querySelector('#open-items').textContent.includes('ORD-LATE')")
    screenshot("ops-dashboard", full_page=True)

    page.goto(f"{live_server.url}/ops/processes/{definition.pk}/heatmap")
    page.wait_for_selector("[data-heatmap][data-heatmap-state='ready']")
    overlay = page.locator(".heat-overlay[data-activity='review_order']")
    assert overlay.count() == 1
    assert "2" in overlay.locator(".heat-tokens").inner_text()
    screenshot("ops-heatmap")
