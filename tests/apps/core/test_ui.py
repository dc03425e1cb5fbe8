"""The UI shell: home page, sign in and sign out, static files."""

from __future__ import annotations

import pytest

from tests.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.django_db


def test_home_page_anonymous_links_to_docs_admin_and_sign_in(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    fragments = ('href="/api/docs/"', 'href="/admin/"', 'href="/login/"', 'href="#main"', '<main id="main"',
                 'aria-label="Main"', "patchbay.css")
    for fragment in fragments:
        assert fragment in html, fragment
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html


def test_login_page_has_labelled_fields(client):
    html = client.get("/login/").content.decode()
    assert '<label for="id_username">' in html
    assert '<label for="id_password">' in html
    assert 'autocomplete="current-password"' in html


def test_sign_in_then_sign_out(client, users):
    response = client.post("/login/", {"username": "agent", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    home = client.get("/").content.decode()
    assert "agent" in home and "Sign out" in home
    response = client.post("/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert "Sign out" not in client.get("/").content.decode()


def test_wrong_password_shows_an_error(client, users):
    response = client.post("/login/", {"username": "agent", "password": "wrong"})
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()


def test_stylesheet_is_found_by_staticfiles():
    from django.contrib.staticfiles import finders

    assert finders.find("patchbay.css")
