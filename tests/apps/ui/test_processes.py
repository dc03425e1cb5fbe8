"""Process library views: access, upload reports, downloads, starting instances, escaping."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.instances.models import ProcessInstance
from tests.browser.models import BROKEN, GARBAGE, HELLO

pytestmark = pytest.mark.django_db


def _upload(client, text: str, name: str = "model.bpmn"):
    return client.post("/processes/upload/", {"file": SimpleUploadedFile(name, text.encode(), "application/xml")})


@pytest.mark.parametrize("url", ["/processes/", "/instances/", "/inbox/"])
def test_anonymous_users_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/login/?next={url}")


def test_a_user_without_a_role_gets_403(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("nobody", password="x" * 12))
    for url in ("/processes/", "/instances/", "/inbox/"):
        response = client.get(url)
        assert response.status_code == 403
        assert "Not allowed" in response.content.decode()


def test_navigation_follows_the_roles(client_for):
    analyst = client_for("analyst").get("/processes/").content.decode()
    assert 'href="/inbox/"' not in analyst and "Upload a model" in analyst
    agent = client_for("agent").get("/processes/").content.decode()
    assert 'href="/inbox/"' in agent and "Upload a model" not in agent


def test_only_analysts_upload(client_for):
    assert _upload(client_for("agent"), HELLO).status_code == 403
    assert _upload(client_for("ops"), HELLO).status_code == 403


def test_a_broken_model_shows_every_problem_and_keeps_the_xml_for_the_diagram(client_for):
    response = _upload(client_for("analyst"), BROKEN, "broken.bpmn")
    assert response.status_code == 400
    html = response.content.decode()
    assert "broken.bpmn was not deployed" in html
    assert html.count('data-locate="') == 2
    assert 'data-locate="greet"' in html and 'data-locate="flow_long_name"' in html
    assert "<td>18</td>" in html
    # The XML reaches bpmn-js as a JSON string inside a non-executing script element, escaped.
    assert 'id="report-diagram-config" type="application/json"' in html
    assert "bpmn:definitions" not in html.split('id="report-diagram-config"')[0].split("<main")[1]


def test_markup_in_an_uploaded_model_cannot_break_out_of_the_page(client_for):
    evil = BROKEN.replace('name="Greet"', 'name="&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"')
    evil = evil.replace("<bpmn:documentation>", "<bpmn:documentation></script><script>alert(2)</script>")
    response = _upload(client_for("analyst"), evil, "evil<b>.bpmn")
    html = response.content.decode()
    assert "<script>alert" not in html
    assert "evil&lt;b&gt;.bpmn" in html


def test_a_file_that_is_not_xml_shows_the_list_without_a_diagram(client_for):
    response = _upload(client_for("analyst"), GARBAGE, "garbage.bpmn")
    assert response.status_code == 400
    html = response.content.decode()
    assert "garbage.bpmn was not deployed" in html
    assert "data-diagram=" not in html


def test_an_empty_upload_is_a_field_error(client_for):
    response = client_for("analyst").post("/processes/upload/", {})
    assert response.status_code == 400
    assert 'id="upload-error"' in response.content.decode()


def test_a_good_model_deploys_once(client_for):
    analyst = client_for("analyst")
    response = _upload(analyst, HELLO, "hello_world.bpmn")
    assert response.status_code == 302
    page = analyst.get(response["Location"])
    assert "Deployed hello_world as version 1." in page.content.decode()
    again = analyst.get(_upload(analyst, HELLO, "hello_world.bpmn")["Location"])
    assert "already deployed as hello_world version 1" in again.content.decode()
    library = analyst.get("/processes/").content.decode()
    assert "hello_world" in library and "v1" in library


def test_xml_endpoint_serves_the_model_sandboxed(client_for, deploy):
    definition = deploy(HELLO)
    response = client_for("agent").get(f"/processes/{definition.pk}/xml")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml"
    assert "sandbox" in response["Content-Security-Policy"]
    assert response.content == HELLO.encode()
    download = client_for("agent").get(f"/processes/{definition.pk}/xml?download=1")
    assert download["Content-Disposition"].startswith("attachment")
    assert client_for(None).get(f"/processes/{definition.pk}/xml").status_code == 302


def test_unknown_definitions_are_404_pages(client_for):
    for url in ("/processes/999/", "/processes/999/xml"):
        response = client_for("analyst").get(url)
        assert response.status_code == 404
    assert "Page not found" in client_for("analyst").get("/processes/999/").content.decode()


@pytest.mark.parametrize(
    ("variables", "message"),
    [("{not json", "Not valid JSON"), ("[1, 2]", "Give a JSON object")],
)
def test_start_form_reports_bad_variables_beside_the_field(client_for, deploy, variables, message):
    definition = deploy(HELLO)
    response = client_for("agent").post(f"/processes/{definition.pk}/start/", {"variables": variables})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ProcessInstance.objects.exists()


def test_start_form_reports_a_duplicate_business_key(client_for, deploy):
    definition = deploy(HELLO.replace("greeting = 'Hello ' + name", "greeting = 'Hello ' + missing"))
    agent = client_for("agent")
    first = agent.post(f"/processes/{definition.pk}/start/", {"business_key": "ORD-1", "variables": "{}"})
    assert first.status_code == 302  # started; its first step failed and waits for ops
    second = agent.post(f"/processes/{definition.pk}/start/", {"business_key": "ORD-1", "variables": "{}"})
    assert second.status_code == 400
    assert "already used by an unfinished instance" in second.content.decode()


def test_start_form_starts_this_version(client_for, deploy):
    definition = deploy(HELLO)
    response = client_for("agent").post(
        f"/processes/{definition.pk}/start/", {"business_key": "", "variables": json.dumps({"name": "Ada"})}
    )
    instance = ProcessInstance.objects.get()
    assert response["Location"] == f"/instances/{instance.pk}/"
    assert instance.status == "completed" and instance.definition_id == definition.pk
