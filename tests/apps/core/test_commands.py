"""Management commands ensure_groups and seed_demo_users."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from tests.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_ensure_groups_is_idempotent():
    call_command("ensure_groups")
    call_command("ensure_groups")
    assert sorted(Group.objects.values_list("name", flat=True)) == ["admin", "agent", "analyst", "ops"]


def test_seed_demo_users_refuses_outside_demo_and_debug(settings):
    settings.DEMO_MODE = False
    settings.DEBUG = False
    with pytest.raises(CommandError, match="Refusing"):
        call_command("seed_demo_users")
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize("flag", ["DEMO_MODE", "DEBUG"])
def test_seed_demo_users_runs_in_demo_or_debug_and_is_idempotent(settings, flag):
    settings.DEMO_MODE = False
    settings.DEBUG = False
    setattr(settings, flag, True)
    call_command("seed_demo_users")
    call_command("seed_demo_users")
    user_model = get_user_model()
    usernames = sorted(user_model.objects.values_list("username", flat=True))
    assert usernames == ["admin", "agent", "analyst", "ops"]
    for user in user_model.objects.all():
        assert list(user.groups.values_list("name", flat=True)) == [user.username]
        assert user.check_password(DEMO_PASSWORD)
        assert user.is_superuser is (user.username == "admin")
        assert user.is_staff is (user.username == "admin")


def test_seed_keeps_a_changed_password_unless_reset(settings):
    settings.DEMO_MODE = True
    call_command("seed_demo_users")
    agent = get_user_model().objects.get(username="agent")
    agent.set_password("changed-by-the-user")
    agent.save(update_fields=["password"])
    call_command("seed_demo_users")
    agent.refresh_from_db()
    assert agent.check_password("changed-by-the-user")
    call_command("seed_demo_users", "--reset-passwords")
    agent.refresh_from_db()
    assert agent.check_password(DEMO_PASSWORD)
