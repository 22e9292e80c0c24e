from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from tests.conftest import PASSWORD

ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.skip("headless Chromium is absent (apt-get install chromium); .ci/run installs it")
    return path


@pytest.fixture
def browser_page(chromium_path: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A fresh headless Chromium page (Playwright, Debian's browser: nothing is downloaded)."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # still synchronous, so Django's guard against async contexts does not apply to them.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()
            # The test's queries ran while Playwright's loop was running, on a connection of
            # their own: close it here, or the test database cannot be dropped afterwards.
            connections.close_all()


def screenshot(page: object, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/ for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


def sign_in_page(page: Any, base: str, username: str, password: str = PASSWORD) -> None:
    """Sign `page` in through the sign-in form; it ends on the overview."""
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("form.stacked button[type=submit]")
    page.wait_for_url(f"{base}/")


@pytest.fixture
def tokyo_page(chromium_path: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A headless Chromium page whose clock is in Tokyo."""
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(timezone_id="Asia/Tokyo")
        finally:
            browser.close()
            connections.close_all()
