"""POST /api/v1/auth/token/ and GET /api/v1/auth/me/."""

from __future__ import annotations

import pytest

from tests.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
ME_URL = "/api/v1/auth/me/"


def assert_error_shape(body, code=None):
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert isinstance(body["error"]["details"], list)
    if code is not None:
        assert body["error"]["code"] == code


def test_token_for_valid_credentials_then_me(users, api_client_for):
    client = api_client_for(None)
    response = client.post(TOKEN_URL, {"username": "agent", "password": DEMO_PASSWORD}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    assert set(response.json()) == {"token"}

    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = client.get(ME_URL)
    assert me.status_code == 200
    assert me.json() == {"username": "agent", "groups": ["agent"], "is_superuser": False}

    credentials = {"username": "agent", "password": DEMO_PASSWORD}
    again = api_client_for(None).post(TOKEN_URL, credentials, format="json")
    assert again.json()["token"] == token


def test_token_with_wrong_password_is_400_invalid_credentials(users, api_client_for):
    response = api_client_for(None).post(TOKEN_URL, {"username": "agent", "password": "nope"}, format="json")
    assert response.status_code == 400
    assert_error_shape(response.json(), "invalid_credentials")


def test_token_for_inactive_user_is_refused(users, api_client_for):
    users["ops"].is_active = False
    users["ops"].save(update_fields=["is_active"])
    credentials = {"username": "ops", "password": DEMO_PASSWORD}
    response = api_client_for(None).post(TOKEN_URL, credentials, format="json")
    assert response.status_code == 400
    assert_error_shape(response.json(), "invalid_credentials")


def test_token_with_missing_fields_names_them(api_client_for):
    response = api_client_for(None).post(TOKEN_URL, {}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert_error_shape(body, "invalid_input")
    assert {d["field"] for d in body["error"]["details"]} == {"username", "password"}


def test_token_ignores_a_stale_authorization_header(users, api_client_for):
    client = api_client_for(None)
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.post(TOKEN_URL, {"username": "admin", "password": DEMO_PASSWORD}, format="json")
    assert response.status_code == 200


def test_me_anonymous_is_401(api_client_for):
    response = api_client_for(None).get(ME_URL)
    assert response.status_code == 401
    assert_error_shape(response.json(), "not_authenticated")


def test_me_with_bad_token_is_401(api_client_for):
    client = api_client_for(None)
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get(ME_URL)
    assert response.status_code == 401
    assert_error_shape(response.json(), "authentication_failed")


def test_me_lists_groups_of_admin(users, api_client_for):
    response = api_client_for(users["admin"]).get(ME_URL)
    assert response.json() == {"username": "admin", "groups": ["admin"], "is_superuser": True}
