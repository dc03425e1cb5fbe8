"""Analysts: upload a broken model and see its problems on the diagram, then a good one and its diagram."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import wait_for_diagram
from tests.browser.models import BROKEN, HELLO

pytestmark = pytest.mark.django_db(transaction=True)


def test_analyst_sees_the_problems_of_a_broken_model_then_deploys_a_good_one(page, live_server, sign_in, screenshot):
    sign_in("analyst")
    page.get_by_role("link", name="Processes").click()
    page.wait_for_url(f"{live_server.url}/processes/")

    # File picker: the broken model is rejected with a report naming each element.
    page.set_input_files("#id_file", files=[{"name": "broken.bpmn", "mimeType": "application/xml",
                                             "buffer": BROKEN.encode()}])
    page.get_by_role("button", name="Validate and deploy").click()
    report = page.locator("#problems")
    report.wait_for()
    assert "broken.bpmn was not deployed" in page.locator(".report-head").inner_text()
    rows = report.locator("tbody tr")
    assert rows.count() == 2
    text = report.inner_text()
    assert "invalid_script" in text and "greet" in text and "flow_long_name" in text and "18" in text

    # The model parses, so bpmn-js marks the elements and a click on a problem zooms to it.
    wait_for_diagram(page)
    assert page.locator(".djs-element.pb-problem[data-element-id='greet']").count() == 1
    assert page.locator(".pb-problem-badge").count() == 2
    page.locator("button[data-locate='greet']").click()
    assert page.locator(".djs-element.pb-focus[data-element-id='greet']").count() == 1
    screenshot("process-library-report", full_page=True)

    # Drag and drop: a good model lands in the same file input and deploys; its diagram renders.
    page.evaluate(
        """(xml) => {
            const data = new DataTransfer();
            data.items.add(new File([xml], "hello_world.bpmn", {type: "application/xml"}));
            const zone = document.querySelector("[data-dropzone]");
            zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: data, bubbles: true, cancelable: true}));
            zone.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true}));
        }""",
        HELLO,
    )
    assert "hello_world.bpmn" in page.locator("[data-dropzone-file]").inner_text()
    page.get_by_role("button", name="Validate and deploy").click()
    page.wait_for_url(f"{live_server.url}/processes/*/")
    assert "Deployed hello_world as version 1" in page.locator(".messages").inner_text()
    wait_for_diagram(page)
    assert page.locator(".djs-container svg").count() >= 1
    assert page.locator(".djs-element[data-element-id='greet']").count() == 1
    screenshot("process-diagram")

    # Start an instance from the version page: bad JSON is an error beside the field, good JSON starts it.
    page.get_by_label("Variables (JSON object)").fill("{not json")
    page.get_by_role("button", name="Start instance").click()
    assert "Not valid JSON" in page.locator(".field.has-error").inner_text()
    page.get_by_label("Variables (JSON object)").fill(json.dumps({"name": "Ada Lovelace"}))
    page.get_by_role("button", name="Start instance").click()
    page.wait_for_url(f"{live_server.url}/instances/*/")
    assert "Completed" in page.locator(".page-head h1").inner_text()

    # The library lists the process with its version.
    page.goto(f"{live_server.url}/processes/")
    assert "hello_world" in page.locator("#library-title + .table-wrap").inner_text()
