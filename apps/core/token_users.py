"""The user behind an API token: one hand-written statement, and a short per-process cache.

Every API request authenticates; in the B3 benchmark (a web worker bound by CPU) the ORM's token
query - token, user and an array subquery of the group names - cost about as much CPU to build as a
small step's statement. This module reads the same row with a statement written once per process
(PostgreSQL; elsewhere the ORM, with a second query for the groups) and keeps what it read for
`PATCHBAY_TOKEN_CACHE_SECONDS` (0 = off).

Security rules of the cache:

* It holds plain column values, never a model object: each request gets a user (and token) built
  afresh (`Model.from_db`), so nothing one request sets on its user reaches another request. Users
  with a value that could be mutated in place (anything but str, numbers, bools, dates, UUIDs) are
  not cached.
* Only tokens of active users are cached; unknown tokens and inactive users are read every time.
* In this process a change is seen at once: deleting or saving a token, saving or deleting a user
  (deactivation, password change), changing anyone's group membership and saving or deleting a group
  empties the cache (signals), at the change and again when its transaction commits (so a request
  that read the old row meanwhile cannot keep it). A generation number stops a read that started
  before an invalidation from being stored after it.
* Other processes (other gunicorn workers, other web nodes) see such a change within the TTL: that
  is the trade (docs/operations.md). Changes that bypass signals - `QuerySet.update()` or SQL on the
  user table - are also seen within the TTL.
"""

from __future__ import annotations

import datetime
import decimal
import threading
import time
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import DEFAULT_DB_ALIAS, connection, models, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from rest_framework.authtoken.models import Token, TokenProxy

from apps.core import prepared
from apps.core.roles import remember_groups
from apps.core.rows import converted

# Column values that cannot be changed in place, so one cached tuple can seed many user objects.
_IMMUTABLE = (str, int, float, bool, type(None), datetime.datetime, datetime.date, datetime.time,
              datetime.timedelta, decimal.Decimal, uuid.UUID)
# A bound on memory (one entry per distinct token seen within the TTL); past it the cache starts over.
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class TokenUser:
    """What a token's row says: the token's creation time, the user's column values, their groups."""

    key: str
    created: datetime.datetime
    user_values: tuple[Any, ...]
    group_names: frozenset[str]

    @property
    def is_active(self) -> bool:
        return bool(self.user_values[_user_attnames().index("is_active")]) if _has_is_active() else True

    def build(self) -> tuple[Any, Token]:
        """A new user object and a new token object for one request (never shared between requests)."""
        user = get_user_model().from_db(DEFAULT_DB_ALIAS, list(_user_attnames()), list(self.user_values))
        remember_groups(user, self.group_names)  # a set of its own: what `roles.user_groups` reads
        token = Token.from_db(DEFAULT_DB_ALIAS, ["key", "user_id", "created"], [self.key, user.pk, self.created])
        token.user = user
        return user, token


@dataclass(frozen=True)
class _Entry:
    found: TokenUser
    expires: float


class _Cache:
    """The process's entries; `generation` counts invalidations (a read stores only if none came)."""

    def __init__(self) -> None:
        self.entries: dict[str, _Entry] = {}
        self.generation = 0
        self.lock = threading.Lock()


_cache = _Cache()


def token_user(key: str) -> TokenUser | None:
    """The token's row (cached for `PATCHBAY_TOKEN_CACHE_SECONDS`), or None for an unknown key."""
    ttl = float(getattr(settings, "PATCHBAY_TOKEN_CACHE_SECONDS", 0))
    if ttl <= 0:
        return read_token_user(key)
    entry = _cache.entries.get(key)
    now = time.monotonic()
    if entry is not None and entry.expires > now:
        return entry.found
    generation = _cache.generation
    found = read_token_user(key)
    if found is not None and found.is_active and _cacheable(found):
        with _cache.lock:
            if generation == _cache.generation:  # nothing was invalidated while we read
                if len(_cache.entries) >= MAX_ENTRIES:
                    _cache.entries.clear()
                _cache.entries[key] = _Entry(found, now + ttl)
    elif entry is not None:
        _cache.entries.pop(key, None)
    return found


def forget_token_users() -> None:
    """Empty the cache (and make reads in flight not store what they read)."""
    with _cache.lock:
        _cache.generation += 1
        _cache.entries.clear()


def _cacheable(found: TokenUser) -> bool:
    return all(isinstance(value, _IMMUTABLE) for value in found.user_values)


def read_token_user(key: str) -> TokenUser | None:
    """The token's row from the database: one statement with the group names on PostgreSQL."""
    if connection.vendor != "postgresql":
        return _read_with_orm(key)
    with connection.cursor() as cursor:
        prepared.execute(cursor, _token_user_sql(), [key])
        row = cursor.fetchone()
    if row is None:
        return None
    created, group_names, *values = row
    values = converted(get_user_model(), _user_names(), values)
    return TokenUser(key=key, created=created, user_values=tuple(values), group_names=frozenset(group_names))


def _read_with_orm(key: str) -> TokenUser | None:
    """Elsewhere (SQLite: the embedded demo, dev tests): the ORM, the groups by a second query."""
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None:
        return None
    values = tuple(getattr(token.user, name) for name in _user_attnames())
    names = frozenset(token.user.groups.values_list("name", flat=True))
    return TokenUser(key=key, created=token.created, user_values=values, group_names=names)


def _user_fields() -> list[models.Field[Any, Any]]:
    return list(get_user_model()._meta.concrete_fields)


@cache
def _user_attnames() -> tuple[str, ...]:
    return tuple(field.attname for field in _user_fields())


@cache
def _has_is_active() -> bool:
    return "is_active" in _user_attnames()


@cache
def _user_names() -> tuple[str, ...]:
    return tuple(field.name for field in _user_fields())


@cache
def _token_user_sql() -> str:
    """`SELECT token.created, ARRAY(group names), user.* FROM token JOIN user WHERE token.key = %s`."""
    qn = connection.ops.quote_name
    user_model = get_user_model()
    groups = user_model._meta.get_field("groups")
    assert isinstance(groups, models.ManyToManyField)
    through_model = groups.remote_field.through
    assert through_model is not None  # resolved once the app registry is ready
    through = through_model._meta
    user_column = qn(groups.m2m_column_name())
    group_column = qn(groups.m2m_reverse_name())
    columns = ", ".join(f"u.{qn(str(field.column))}" for field in _user_fields())
    user_pk = qn(str(user_model._meta.pk.column))
    group_names = (
        f"ARRAY(SELECT g.{qn('name')} FROM {qn(Group._meta.db_table)} g"  # noqa: S608 - names from model metadata
        f" JOIN {qn(through.db_table)} ug ON ug.{group_column} = g.{qn('id')}"
        f" WHERE ug.{user_column} = u.{user_pk})"
    )
    return (
        f"SELECT t.{qn('created')}, {group_names}, {columns}"  # noqa: S608 - names from model metadata
        f" FROM {qn(Token._meta.db_table)} t JOIN {qn(user_model._meta.db_table)} u ON u.{user_pk} = t.{qn('user_id')}"
        f" WHERE t.{qn('key')} = %s"
    )


def _changed(**kwargs: Any) -> None:
    """Signal receiver: a token, user, group or membership changed - forget now and at commit."""
    forget_token_users()
    if connection.in_atomic_block:
        transaction.on_commit(forget_token_users)


def _connect() -> None:
    user_model = get_user_model()
    # `TokenProxy` is the admin's token model: a proxy's signals name the proxy, not `Token`.
    for sender in (Token, TokenProxy, user_model, Group):
        post_save.connect(_changed, sender=sender, dispatch_uid=f"token_users.saved.{sender._meta.label}")
        post_delete.connect(_changed, sender=sender, dispatch_uid=f"token_users.deleted.{sender._meta.label}")
    groups = user_model._meta.get_field("groups")
    assert isinstance(groups, models.ManyToManyField)
    m2m_changed.connect(_changed, sender=groups.remote_field.through, dispatch_uid="token_users.groups")


# Connected when this module is imported, which is before anything can be in its cache.
_connect()
