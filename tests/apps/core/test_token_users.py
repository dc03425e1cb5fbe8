"""Token authentication's statement and per-process cache (`apps.core.token_users`).

Security first: within the process that made a change, a deleted token, a deactivated user and a
changed group membership count on the very next request; no request ever gets another request's
user object.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token, TokenProxy
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.test import APIClient

from apps.core import prepared, token_users
from apps.core.auth import TokenAuthentication
from apps.core.roles import OPS, has_role
from apps.core.services import token_get_or_create

pytestmark = pytest.mark.django_db
ME_URL = "/api/v1/auth/me/"


@pytest.fixture(autouse=True)
def _cache_on(settings: Any) -> Iterator[None]:
    settings.PATCHBAY_TOKEN_CACHE_SECONDS = 60
    token_users.forget_token_users()
    yield
    token_users.forget_token_users()


def authenticate(key: str) -> Any:
    return TokenAuthentication().authenticate_credentials(key)[0]


def client(key: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


def token_statements(queries: CaptureQueriesContext) -> list[str]:
    ran = [prepared.statement(q["sql"]) for q in queries.captured_queries]
    return [sql for sql in ran if "authtoken_token" in sql]


def test_a_cached_token_is_not_read_again_within_the_ttl(users) -> None:
    key = token_get_or_create(user=users["agent"])
    authenticate(key)
    with CaptureQueriesContext(connection) as queries:
        user = authenticate(key)
        assert has_role(user, "agent")
    assert queries.captured_queries == []


def test_with_the_cache_off_every_request_reads_the_token(users, settings) -> None:
    settings.PATCHBAY_TOKEN_CACHE_SECONDS = 0
    key = token_get_or_create(user=users["agent"])
    authenticate(key)
    with CaptureQueriesContext(connection) as queries:
        authenticate(key)
    assert len(token_statements(queries)) == 1


def test_an_expired_entry_is_read_again(users, monkeypatch) -> None:
    key = token_get_or_create(user=users["agent"])
    authenticate(key)
    users["agent"].__class__.objects.filter(pk=users["agent"].pk).update(is_active=False)  # no signal
    later = token_users.time.monotonic() + 61
    monkeypatch.setattr(token_users.time, "monotonic", lambda: later)
    with pytest.raises(AuthenticationFailed):
        authenticate(key)


def test_a_deleted_token_is_refused_at_once(users) -> None:
    key = token_get_or_create(user=users["agent"])
    assert client(key).get(ME_URL).status_code == 200
    Token.objects.get(key=key).delete()
    assert client(key).get(ME_URL).status_code == 401


def test_a_token_deleted_through_the_admin_model_is_refused_at_once(users) -> None:
    key = token_get_or_create(user=users["agent"])
    authenticate(key)
    TokenProxy.objects.get(key=key).delete()
    with pytest.raises(AuthenticationFailed):
        authenticate(key)


def test_a_deactivated_user_is_refused_at_once(users) -> None:
    key = token_get_or_create(user=users["agent"])
    assert client(key).get(ME_URL).status_code == 200
    agent = users["agent"]
    agent.is_active = False
    agent.save(update_fields=["is_active"])
    response = client(key).get(ME_URL)
    assert (response.status_code, response.json()["error"]["code"]) == (401, "authentication_failed")


def test_a_deleted_user_is_refused_at_once(users) -> None:
    key = token_get_or_create(user=users["agent"])
    authenticate(key)
    users["agent"].delete()
    with pytest.raises(AuthenticationFailed):
        authenticate(key)


def test_group_membership_changes_count_at_once(users) -> None:
    key = token_get_or_create(user=users["agent"])
    agent = users["agent"]
    assert not has_role(authenticate(key), OPS)
    agent.groups.add(Group.objects.get(name=OPS))
    assert has_role(authenticate(key), OPS)
    Group.objects.get(name=OPS).user_set.remove(agent)
    assert not has_role(authenticate(key), OPS)
    agent.groups.clear()
    assert client(key).get(ME_URL).json()["groups"] == []


def test_a_renamed_group_counts_at_once(users) -> None:
    key = token_get_or_create(user=users["agent"])
    assert has_role(authenticate(key), "agent")
    group = Group.objects.get(name="agent")
    group.name = "former_agents"
    group.save()
    assert not has_role(authenticate(key), "agent")


def test_a_password_change_is_seen_at_once(users) -> None:
    key = token_get_or_create(user=users["agent"])
    before = authenticate(key).password
    agent = users["agent"]
    agent.set_password("another-password")
    agent.save()
    after = authenticate(key)
    assert after.password != before and after.check_password("another-password")


def test_every_request_gets_its_own_user_and_token_objects(users) -> None:
    key = token_get_or_create(user=users["agent"])
    first_user, first_token = TokenAuthentication().authenticate_credentials(key)
    first_user.is_superuser = True  # a request changing its user object in memory
    first_user.username = "mallory"
    first_user._patchbay_groups.add(OPS)
    second_user, second_token = TokenAuthentication().authenticate_credentials(key)
    assert second_user is not first_user and second_token is not first_token
    assert (second_user.username, second_user.is_superuser) == ("agent", False)
    assert not has_role(second_user, OPS)
    assert second_token.user is second_user and second_token.key == key


def test_the_user_is_the_one_the_orm_reads(users) -> None:
    agent = users["agent"]
    key = token_get_or_create(user=agent)
    user, token = TokenAuthentication().authenticate_credentials(key)
    fresh = type(agent).objects.get(pk=agent.pk)
    fields = [f.attname for f in type(agent)._meta.concrete_fields]
    assert [getattr(user, f) for f in fields] == [getattr(fresh, f) for f in fields]
    assert (token.created, token.user_id) == (Token.objects.get(key=key).created, agent.pk)
    assert not user._state.adding


def test_unknown_tokens_and_inactive_users_are_not_cached(users) -> None:
    with pytest.raises(AuthenticationFailed):
        authenticate("0" * 40)
    agent = users["agent"]
    key = token_get_or_create(user=agent)
    type(agent).objects.filter(pk=agent.pk).update(is_active=False)
    with pytest.raises(AuthenticationFailed):
        authenticate(key)
    type(agent).objects.filter(pk=agent.pk).update(is_active=True)  # no signal: only a fresh read sees it
    assert authenticate(key).username == "agent"


def test_a_read_that_an_invalidation_overtook_is_not_stored(users, monkeypatch) -> None:
    key = token_get_or_create(user=users["agent"])
    read = token_users.read_token_user

    def read_then_invalidated(found_key: str) -> Any:
        found = read(found_key)
        token_users.forget_token_users()  # e.g. another thread deactivated the user meanwhile
        return found

    monkeypatch.setattr(token_users, "read_token_user", read_then_invalidated)
    authenticate(key)
    assert key not in token_users._cache.entries


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_read_of_the_old_row_before_a_commit_is_forgotten_at_the_commit(users) -> None:
    agent = users["agent"]
    key = token_get_or_create(user=agent)
    changed, read_done = threading.Event(), threading.Event()

    def deactivate_in_a_transaction() -> None:
        try:
            with transaction.atomic():
                user = type(agent).objects.get(pk=agent.pk)
                user.is_active = False
                user.save(update_fields=["is_active"])  # clears the cache, not committed yet
                changed.set()
                read_done.wait(10)
        finally:
            connections.close_all()

    other = threading.Thread(target=deactivate_in_a_transaction)
    other.start()
    assert changed.wait(10)
    assert authenticate(key).is_active  # the committed row is still the active one: it is cached
    read_done.set()
    other.join(10)
    with pytest.raises(AuthenticationFailed):
        authenticate(key)
