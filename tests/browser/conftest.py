"""Browser tests: Playwright (sync API) driving Debian's headless Chromium against `live_server`.

Policy (tests/conftest.py): without Chromium or the playwright package the tests are skipped with the
reason on a developer machine and fail in CI. Missing vendored assets (`make assets`) always fail:
the pages would load without bpmn-js and htmx, and the failures would be confusing.

Screenshots of the main pages go to docs/screenshots/ when PATCHBAY_SCREENSHOTS=1 (`make screenshots`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DEMO_PASSWORD, require_browser

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run in a thread
# with a running loop unless told that this is deliberate (the test's own ORM calls are synchronous).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
REQUIRED_ASSETS = ("ui/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js", "ui/vendor/htmx.min.js")


def _check_assets() -> None:
    from django.contrib.staticfiles import finders

    missing = [name for name in REQUIRED_ASSETS if not finders.find(name)]
    if missing:
        pytest.fail(f"vendored UI assets are missing ({', '.join(missing)}): run `make assets` first", pytrace=False)


@pytest.fixture(scope="session")
def browser(live_server: Any) -> Iterator[Any]:
    """One headless Chromium for the session (Playwright gives it a fresh, temporary profile).

    It depends on `live_server` so that it closes first: its keep-alive connections must end while
    the server (and, on SQLite, its shared in-memory connection) is still there.
    """
    chromium = require_browser()
    _check_assets()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, live_server: Any, transactional_db: None) -> Iterator[Any]:
    """A tab in a new browser context (no cookies, no cache); JavaScript errors fail the test."""
    context = browser.new_context(viewport=VIEWPORT)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def sign_in(page: Any, live_server: Any, users: dict[str, Any]) -> Callable[[str], None]:
    """`sign_in("agent")`: sign in through the login form (every demo user has the demo password)."""

    def do(username: str) -> None:
        page.context.clear_cookies()
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server.url}/")

    return do


@pytest.fixture
def screenshot(page: Any) -> Callable[[str], None]:
    """`screenshot("inbox")`: docs/screenshots/inbox.png of the viewport, when PATCHBAY_SCREENSHOTS=1."""

    def do(name: str, *, full_page: bool = False) -> None:
        if os.environ.get("PATCHBAY_SCREENSHOTS") != "1":
            return
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)

    return do


def wait_for_diagram(page: Any, state: str = "ready") -> None:
    """Wait until bpmn-js finished (the container's data-diagram-state), then return."""
    page.wait_for_selector(f"[data-diagram][data-diagram-state='{state}']")
