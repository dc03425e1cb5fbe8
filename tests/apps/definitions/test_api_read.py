"""GET /api/v1/definitions/ (list by key, paging), /{id}/, /{id}/xml, /{id}/source, and 404s."""

from __future__ import annotations

import pytest

from apps.definitions.services import definition_deploy
from tests.apps.definitions.samples import bpmn_model, zip_of

URL = "/api/v1/definitions/"


def deploy(content: bytes, filename: str = "model.bpmn"):
    return definition_deploy(filename=filename, content=content, deployed_by=None)[0]


@pytest.fixture
def three_versions(db):
    """greeting v1, v2, v3 and an unrelated `other` v1, deployed in that order."""
    versions = [deploy(bpmn_model("greeting", script=f"greeting = {n}")) for n in range(3)]
    deploy(bpmn_model("other"))
    return versions


def test_the_list_filtered_by_key_is_latest_first(agent_client, three_versions):
    response = agent_client.get(URL, {"key": "greeting"})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [d["version"] for d in body["results"]] == [3, 2, 1]
    assert {d["key"] for d in body["results"]} == {"greeting"}


def test_the_unfiltered_list_holds_every_key(agent_client, three_versions):
    body = agent_client.get(URL).json()

    assert body["count"] == 4
    assert body["results"][0]["key"] == "other"


def test_the_list_is_paged(agent_client, three_versions):
    first = agent_client.get(URL, {"key": "greeting", "page_size": 2}).json()
    second = agent_client.get(URL, {"key": "greeting", "page_size": 2, "page": 2}).json()

    assert [d["version"] for d in first["results"]] == [3, 2]
    assert first["next"] is not None
    assert [d["version"] for d in second["results"]] == [1]
    assert second["next"] is None


def test_an_anonymous_list_gets_401(anon_client, db):
    assert anon_client.get(URL).status_code == 401


def test_one_definition_is_returned_by_id(agent_client, three_versions):
    definition = three_versions[1]

    response = agent_client.get(f"{URL}{definition.id}/")

    assert response.status_code == 200
    assert response.json()["id"] == definition.id
    assert response.json()["version"] == 2
    assert response.json()["content_hash"] == definition.content_hash


@pytest.mark.parametrize("suffix", ["xml", "xml/"])
def test_xml_returns_the_bpmn_as_uploaded(agent_client, db, suffix):
    content = bpmn_model("greeting")
    definition = deploy(content)

    response = agent_client.get(f"{URL}{definition.id}/{suffix}")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml"
    assert response.content == content
    assert "sandbox" in response["Content-Security-Policy"]


def test_xml_of_a_zip_upload_is_the_member_holding_the_executable_process(agent_client, db):
    main = bpmn_model("zipped")
    other = bpmn_model("not_it").replace(b'isExecutable="true"', b'isExecutable="false"')
    definition = deploy(zip_of({"a_library.bpmn": other, "z_main.bpmn": main}), filename="bundle.zip")

    response = agent_client.get(f"{URL}{definition.id}/xml")

    assert response.status_code == 200
    assert response.content == main


def test_source_returns_the_raw_upload_as_a_download(agent_client, db):
    archive = zip_of({"main.bpmn": bpmn_model("zipped")})
    definition = deploy(archive, filename="bundle.zip")

    response = agent_client.get(f"{URL}{definition.id}/source")

    assert response.status_code == 200
    assert response.content == archive
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="bundle.zip"'


@pytest.mark.parametrize("suffix", ["", "xml", "xml/", "source"])
def test_an_unknown_id_is_a_404_in_the_error_shape(agent_client, db, suffix):
    response = agent_client.get(f"{URL}999999/{suffix}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_delete_is_not_allowed(admin_client, three_versions):
    response = admin_client.delete(f"{URL}{three_versions[0].id}/")

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
