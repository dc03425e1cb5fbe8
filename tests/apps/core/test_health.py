"""The health probes: /healthz (liveness, no database) and /readyz (database and broker)."""

from __future__ import annotations

import socket

import pytest


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_healthz_is_ok_without_touching_the_database(client):
    # No `django_db` mark: pytest-django raises if the view touches the database.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_readyz_ok_with_filesystem_broker(client, settings, tmp_path):
    folders = {key: tmp_path / key for key in ("data_folder_in", "data_folder_out", "processed_folder")}
    for folder in folders.values():
        folder.mkdir()
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {key: str(path) for key, path in folders.items()}
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


@pytest.mark.django_db
def test_readyz_503_when_filesystem_broker_folder_is_missing(client, settings, tmp_path):
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path / "absent")}
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert "does not exist" in body["checks"]["broker"]


@pytest.mark.django_db
def test_readyz_503_when_redis_port_is_closed(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("redis unavailable")


@pytest.mark.django_db
@pytest.mark.redis
def test_readyz_ok_with_live_redis(client, settings, redis_url):
    settings.CELERY_BROKER_URL = redis_url
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_readyz_503_when_database_fails(client, monkeypatch):
    from apps.core import health

    monkeypatch.setitem(health.CHECKS, "database", lambda: "database unavailable: simulated")
    monkeypatch.setitem(health.CHECKS, "broker", lambda: None)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "database unavailable: simulated", "broker": "ok"}


@pytest.mark.django_db
@pytest.mark.postgres
def test_readyz_database_check_on_postgres():
    from apps.core.health import check_database

    assert check_database() is None
