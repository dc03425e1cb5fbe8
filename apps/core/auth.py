"""API token authentication that reads the caller's groups with the token, in one hand-written statement.

Every API request checks roles (`apps.core.roles.has_role`), which needs the user's group names;
DRF's `TokenAuthentication` reads the token and user, and the role check then read the groups with a
second query. Here the token, its user and the group names come from `apps.core.token_users`: one
statement written once per process (PostgreSQL; the ORM elsewhere), cached for
`PATCHBAY_TOKEN_CACHE_SECONDS` per process with in-process invalidation (see that module for the
rules). Behaviour is DRF's: the same errors for unknown tokens and inactive users, the same
`(user, token)` result - new objects for every request.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from apps.core.token_users import token_user


class TokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`, as DRF's, with the user's groups read in the same statement."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        found = token_user(key)
        if found is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not found.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return found.build()
