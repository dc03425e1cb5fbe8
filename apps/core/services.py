"""Writes of `apps.core`: roles as groups, demo users, API tokens."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Group
from django.db import transaction
from rest_framework.authtoken.models import Token

from apps.core.roles import ADMIN, ROLES

# Known only to demo and test runs; `seed_demo_users` refuses to run anywhere else.
DEMO_PASSWORD = "patchbay-demo"  # noqa: S105 - documented demo credential, never used in production


@dataclass(frozen=True)
class SeedResult:
    """What `demo_users_seed` did: usernames created, and usernames that already existed."""

    created: tuple[str, ...]
    existing: tuple[str, ...]


def group_ensure_all() -> list[str]:
    """Create the role groups of API.md that are missing; return the names created. Idempotent."""
    created = []
    for name in ROLES:
        _, was_created = Group.objects.get_or_create(name=name)
        if was_created:
            created.append(name)
    return created


@transaction.atomic
def demo_users_seed(*, password: str = DEMO_PASSWORD, reset_passwords: bool = False) -> SeedResult:
    """Create one user per role, named after it, in that group; `admin` is also a superuser.

    Idempotent: existing users keep their password (hashing is slow and a user may have changed it)
    unless `reset_passwords`; their group membership and flags are put right. The caller decides
    whether demo users may exist at all (see the `seed_demo_users` command).
    """
    group_ensure_all()
    user_model = get_user_model()
    created: list[str] = []
    existing: list[str] = []
    for role in ROLES:
        is_admin = role == ADMIN
        user, was_created = user_model.objects.get_or_create(
            username=role, defaults={"is_staff": is_admin, "is_superuser": is_admin}
        )
        if was_created or reset_passwords:
            user.set_password(password)
        user.is_staff = user.is_superuser = is_admin
        user.is_active = True
        user.save()
        user.groups.add(Group.objects.get(name=role))
        (created if was_created else existing).append(role)
    return SeedResult(created=tuple(created), existing=tuple(existing))


def token_get_or_create(*, user: AbstractBaseUser) -> str:
    """The user's API token, created on first use; the same token is returned until it is deleted."""
    token, _ = Token.objects.get_or_create(user_id=user.pk)
    return str(token.key)
