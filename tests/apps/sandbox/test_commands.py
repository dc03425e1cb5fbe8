"""`sandbox_setup` and the service user the callbacks authenticate with."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.test import APIClient

from apps.sandbox.services import callback_token

pytestmark = pytest.mark.django_db


def test_setup_creates_an_ops_service_user_without_password_and_prints_its_token() -> None:
    out = StringIO()
    call_command("sandbox_setup", stdout=out)
    call_command("sandbox_setup", "--reset-knobs", stdout=out)  # idempotent

    user = get_user_model().objects.get(username="sandbox")
    assert not user.has_usable_password()
    assert list(user.groups.values_list("name", flat=True)) == ["ops"]
    token = callback_token()
    assert f"PATCHBAY_SANDBOX_CALLBACK_TOKEN={token}" in out.getvalue()

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    answer = client.post("/api/v1/messages/", {"name": "nothing_waits", "correlation": {}}, format="json")
    assert answer.status_code == 404  # authenticated and allowed; just nobody waiting


def test_a_configured_token_wins(settings: Any) -> None:
    settings.PATCHBAY_SANDBOX_CALLBACK_TOKEN = "from-the-environment"
    assert callback_token() == "from-the-environment"
    assert not get_user_model().objects.filter(username="sandbox").exists()
