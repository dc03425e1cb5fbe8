"""The OpenAPI document describes the definitions endpoints, their upload and their errors."""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular.generators import SchemaGenerator


def definitions_schema() -> dict:
    # Only this app's routes, mounted as in apps/urls.py, so the test speaks for this app alone.
    patterns = [path("api/v1/", include("apps.definitions.api_urls"))]
    return SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)


def test_the_schema_describes_the_multipart_upload_and_its_responses():
    schema = definitions_schema()

    post = schema["paths"]["/api/v1/definitions/"]["post"]
    assert "multipart/form-data" in post["requestBody"]["content"]
    assert {"200", "201", "400", "401", "403"} <= set(post["responses"])
    error = post["responses"]["400"]["content"]["application/json"]["schema"]["$ref"]
    assert error.endswith("/Error")


def test_the_schema_lists_every_definitions_path():
    schema = definitions_schema()

    assert "key" in {p["name"] for p in schema["paths"]["/api/v1/definitions/"]["get"]["parameters"]}
    assert {"/api/v1/definitions/{definition_id}/", "/api/v1/definitions/{definition_id}/xml",
            "/api/v1/definitions/{definition_id}/source"} <= set(schema["paths"])
    xml = schema["paths"]["/api/v1/definitions/{definition_id}/xml"]["get"]["responses"]
    assert "application/xml" in xml["200"]["content"]
    assert "404" in xml
