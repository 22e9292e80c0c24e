"""The base layout in a real browser: sign-in, and a theme that follows the system or the user."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password

from scrobbler.models import User
from tests.conftest import PASSWORD
from tests.e2e.conftest import screenshot
from tests.processes import process_env, web_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DARK_BACKGROUND = "rgb(18, 18, 20)"
LIGHT_BACKGROUND = "rgb(250, 250, 247)"


def background(page: Any) -> str:
    return str(page.evaluate("getComputedStyle(document.body).backgroundColor"))


def test_theme_follows_the_system_until_chosen_and_is_remembered(
    tmp_path: Path, static_root: Path, browser_page: Any
) -> None:
    User.objects.create(username="alice", password=make_password(PASSWORD, hasher="pbkdf2_sha256"))
    page = browser_page
    with web_server(process_env(tmp_path, static_root), tmp_path / "web.log") as base:
        page.emulate_media(color_scheme="dark")
        page.goto(f"{base}/accounts/login/")
        page.fill("#id_username", "alice")
        page.fill("#id_password", PASSWORD)
        page.click("form.stacked button[type=submit]")
        page.wait_for_url(f"{base}/")
        assert page.locator(".who").inner_text() == "alice"
        assert page.evaluate("typeof htmx") == "object"  # htmx loads from our static files
        assert background(page) == DARK_BACKGROUND  # auto follows the system
        screenshot(page, "home-auto-dark")

        page.click(".theme-picker button[value=light]")
        assert page.get_attribute("html", "data-theme") == "light"
        assert background(page) == LIGHT_BACKGROUND
        page.reload()
        assert page.get_attribute("html", "data-theme") == "light"  # remembered
        assert page.get_attribute(".theme-picker button[value=light]", "aria-pressed") == "true"
        screenshot(page, "home-light")

        page.click(".theme-picker button[value=dark]")
        page.emulate_media(color_scheme="light")
        page.reload()
        assert background(page) == DARK_BACKGROUND  # the choice beats the system
        screenshot(page, "home-dark")

        page.click(".theme-picker button[value=auto]")
        assert background(page) == LIGHT_BACKGROUND

        page.click("text=Sign out")
        page.wait_for_url(f"{base}/")
        assert page.locator(".topbar a[href='/accounts/login/']").count() == 1
