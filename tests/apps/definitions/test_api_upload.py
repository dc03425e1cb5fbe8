"""POST /api/v1/definitions/: deploy, idempotency, versions, validation report, roles."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from apps.definitions.models import ProcessDefinition
from apps.definitions.serializers import DefinitionUploadQuerySerializer
from bpmn.constraints import PROFILES
from tests.apps.definitions.samples import bpmn_model, hostile_model, invalid_model, service_task, zip_of

URL = "/api/v1/definitions/"


def upload(client, content: bytes, filename: str = "model.bpmn"):
    return client.post(URL, {"file": SimpleUploadedFile(filename, content)}, format="multipart")


def test_upload_of_a_valid_model_returns_201_with_the_contract_fields(analyst_client):
    response = upload(analyst_client, bpmn_model("greeting", name="Greeting"))

    assert response.status_code == 201, response.json()
    body = response.json()
    contract = {"id", "key", "version", "name", "content_hash", "deployed_at", "deployed_by", "warnings"}
    assert contract <= set(body)
    assert body["key"] == "greeting"
    assert body["version"] == 1
    assert body["name"] == "Greeting"
    assert len(body["content_hash"]) == 64
    assert body["deployed_by"] == "analyst"
    assert isinstance(body["warnings"], list)


def test_uploading_the_same_content_again_returns_200_and_the_same_version(analyst_client):
    first = upload(analyst_client, bpmn_model()).json()

    again = upload(analyst_client, bpmn_model(), filename="renamed.bpmn")

    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert again.json()["version"] == 1
    assert ProcessDefinition.objects.count() == 1


def test_uploading_changed_content_creates_version_2_and_keeps_version_1(analyst_client):
    upload(analyst_client, bpmn_model(script="greeting = 'hi'"))

    response = upload(analyst_client, bpmn_model(script="greeting = 'hello'"))

    assert response.status_code == 201
    assert response.json()["version"] == 2
    assert list(ProcessDefinition.objects.order_by("version").values_list("key", "version")) == [
        ("greeting", 1), ("greeting", 2),
    ]


def test_versions_are_counted_per_key(analyst_client):
    upload(analyst_client, bpmn_model("first"))

    response = upload(analyst_client, bpmn_model("second"))

    assert response.json()["version"] == 1


def test_an_invalid_model_is_rejected_with_every_problem_located_and_nothing_stored(analyst_client):
    response = upload(analyst_client, invalid_model())

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_model"
    problems = {p["element_id"]: p for p in error["details"] if "element_id" in p}
    assert {"do_work", "call_crm"} <= set(problems)
    assert problems["do_work"]["line"] == 7
    assert problems["call_crm"]["line"] in (8, 9)  # the task, or its operator element
    assert all(p["code"] and p["message"] for p in error["details"])
    assert not ProcessDefinition.objects.exists()


def test_an_unknown_operation_is_reported_at_upload(analyst_client):
    response = upload(analyst_client, bpmn_model(task_xml=service_task("billing.no_such_call")))

    assert response.status_code == 400
    assert any(p.get("element_id") == "do_work" for p in response.json()["error"]["details"])
    assert not ProcessDefinition.objects.exists()


def test_a_builtin_operation_is_accepted(analyst_client):
    response = upload(analyst_client, bpmn_model(task_xml=service_task("core.echo")))

    assert response.status_code == 201, response.json()


def test_a_hostile_model_with_entities_is_rejected_and_nothing_stored(analyst_client):
    response = upload(analyst_client, hostile_model())

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_model"
    assert response.json()["error"]["details"]
    assert not ProcessDefinition.objects.exists()


def test_a_zip_upload_is_deployed_with_warnings_for_ignored_files(analyst_client):
    archive = zip_of({"main.bpmn": bpmn_model("zipped"), "notes.txt": b"not a model"})

    response = upload(analyst_client, archive, filename="zipped.zip")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["key"] == "zipped"
    assert body["filename"] == "zipped.zip"
    assert any(w["code"] == "ignored_file" for w in body["warnings"])
    assert ProcessDefinition.objects.get(pk=body["id"]).warnings == body["warnings"]


def test_an_upload_without_a_file_names_the_field(analyst_client):
    response = analyst_client.post(URL, {}, format="multipart")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert [d["field"] for d in error["details"]] == ["file"]


def test_an_upload_above_the_size_cap_is_rejected(analyst_client, settings):
    settings.PATCHBAY_MAX_UPLOAD_BYTES = 100

    response = upload(analyst_client, bpmn_model())

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "file_too_large"
    assert not ProcessDefinition.objects.exists()


def test_a_path_in_the_upload_name_is_reduced_to_the_base_name(analyst_client):
    response = upload(analyst_client, bpmn_model(), filename="../../etc/evil.bpmn")

    assert response.json()["filename"] == "evil.bpmn"


def test_an_admin_may_upload(admin_client):
    assert upload(admin_client, bpmn_model()).status_code == 201


def test_an_agent_may_not_upload(agent_client):
    response = upload(agent_client, bpmn_model())

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert not ProcessDefinition.objects.exists()


def test_an_anonymous_upload_gets_401(anon_client, db):
    response = upload(anon_client, bpmn_model())

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert not ProcessDefinition.objects.exists()


def test_the_strict_profile_rejects_what_the_default_profile_deploys(analyst_client):
    # The sample's script task names no scriptFormat: BPMN requires one (EXT.053), the default profile
    # relaxes it, the strict profile does not.
    strict = analyst_client.post(URL + "?profile=strict", {"file": SimpleUploadedFile("m.bpmn", bpmn_model())},
                                 format="multipart")

    assert strict.status_code == 400
    error = strict.json()["error"]
    assert error["code"] == "invalid_model"
    assert ("bpmn_rule_ext053", "do_work") in {(d["code"], d.get("element_id")) for d in error["details"]}
    assert ProcessDefinition.objects.count() == 0
    assert upload(analyst_client, bpmn_model()).status_code == 201


def test_a_strict_upload_of_already_deployed_bytes_is_validated_again(analyst_client):
    assert upload(analyst_client, bpmn_model()).status_code == 201

    strict = analyst_client.post(URL + "?profile=strict", {"file": SimpleUploadedFile("m.bpmn", bpmn_model())},
                                 format="multipart")

    assert strict.status_code == 400
    assert ProcessDefinition.objects.count() == 1


def test_an_unknown_profile_names_the_query_parameter(analyst_client):
    response = analyst_client.post(URL + "?profile=lenient", {"file": SimpleUploadedFile("m.bpmn", bpmn_model())},
                                   format="multipart")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert [d["field"] for d in error["details"]] == ["profile"]


def test_the_api_offers_exactly_the_profiles_of_the_engine():
    assert list(DefinitionUploadQuerySerializer().fields["profile"].choices) == list(PROFILES)
