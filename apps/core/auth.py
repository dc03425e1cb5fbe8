"""API token authentication that reads the caller's groups with the token (one query, not two).

Every API request checks roles (`apps.core.roles.has_role`), which needs the user's group names;
DRF's `TokenAuthentication` reads the token and user, and the role check then read the groups with a
second query. On PostgreSQL the group names come back in the token's query (an array subquery) and
are remembered on the user for the request. Behaviour is DRF's: the same errors for unknown tokens
and inactive users, the same `(user, token)` result. Elsewhere (SQLite) the groups are read lazily
as before.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import OuterRef
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from apps.core.roles import remember_groups


class TokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`, as DRF's, with the user's groups read in the same query."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        tokens = Token.objects.select_related("user")
        with_groups = connection.vendor == "postgresql"
        if with_groups:
            names = Group.objects.filter(user=OuterRef("user_id")).values("name")
            tokens = tokens.annotate(group_names=ArraySubquery(names))
        try:
            token = tokens.get(key=key)
        except Token.DoesNotExist as exc:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from exc
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        if with_groups:
            remember_groups(token.user, token.group_names)  # type: ignore[attr-defined]  # the annotation
        return (token.user, token)
