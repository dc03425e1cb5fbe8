"""The OpenAPI document at /api/schema/ is a valid OpenAPI 3 document and covers the API."""

from __future__ import annotations

import pytest
import yaml
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    content = response.content.decode()
    return response.json() if content.lstrip().startswith("{") else yaml.safe_load(content)


def test_schema_validates(schema):
    validate(schema)


def test_schema_describes_auth_endpoints_and_token_security(schema):
    assert "/api/v1/auth/token/" in schema["paths"]
    assert "/api/v1/auth/me/" in schema["paths"]
    token_op = schema["paths"]["/api/v1/auth/token/"]["post"]
    assert "400" in token_op["responses"]
    schemes = schema["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" or s.get("in") == "header" for s in schemes.values())


def test_swagger_ui_is_served(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
