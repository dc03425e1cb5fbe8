"""Writes of the sandbox outside its simulated systems: its service user and run-time knobs."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from rest_framework.authtoken.models import Token

SERVICE_USERNAME = "sandbox"
# `POST /api/v1/messages/` accepts any of the API.md roles; `ops` is the closest to "an integration"
# among them (there is no narrower role yet - see docs/operations.md "Sandbox and systems").
SERVICE_GROUP = "ops"


@transaction.atomic
def service_user_ensure() -> str:
    """Create the service user `sandbox` (no password login, group `ops`) and its API token; return the token.

    Idempotent. The simulated systems authenticate their callbacks to `/api/v1/messages/` with it.
    """
    user, created = get_user_model().objects.get_or_create(username=SERVICE_USERNAME)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    group, _ = Group.objects.get_or_create(name=SERVICE_GROUP)
    user.groups.add(group)
    token, _ = Token.objects.get_or_create(user_id=user.pk)
    return str(token.key)


def callback_token() -> str:
    """The token of the callbacks: `PATCHBAY_SANDBOX_CALLBACK_TOKEN`, else the service user's."""
    configured: str = settings.PATCHBAY_SANDBOX_CALLBACK_TOKEN
    return configured or service_user_ensure()
