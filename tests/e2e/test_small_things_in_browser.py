"""The small things in a real browser: a new account starts in the browser's time zone, and a
destructive button asks first (dismissed: nothing happens; accepted: it is done)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password

from scrobbler.models import SpotifyAccount, User
from tests.conftest import PASSWORD
from tests.e2e.conftest import screenshot, sign_in_page
from tests.processes import process_env, web_server
from tests.scrobbler.spotify_helpers import linked_account

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_new_account_starts_in_the_browsers_time_zone(
    tmp_path: Path, static_root: Path, tokyo_page: Any
) -> None:
    page = tokyo_page
    env = process_env(tmp_path, static_root, REGISTRATION="open")
    with web_server(env, tmp_path / "web.log") as base:
        page.goto(f"{base}/accounts/signup/")
        page.fill("#id_username", "carol")
        page.fill("#id_email", "carol@example.org")
        page.fill("#id_password1", PASSWORD)
        page.fill("#id_password2", PASSWORD)
        page.click("form.stacked button[type=submit]")
        page.wait_for_url(f"{base}/")
        assert User.objects.get(username="carol").time_zone == "Asia/Tokyo"
        page.goto(f"{base}/settings/")
        assert page.input_value("#id_time_zone") == "Asia/Tokyo"
        assert page.locator("[data-tz-suggest]").count() == 0  # nothing left to offer


def test_unlinking_spotify_asks_first(tmp_path: Path, static_root: Path, browser_page: Any) -> None:
    alice = User.objects.create(
        username="alice", password=make_password(PASSWORD, hasher="pbkdf2_sha256")
    )
    linked_account(alice)
    page = browser_page
    with web_server(process_env(tmp_path, static_root), tmp_path / "web.log") as base:
        sign_in_page(page, base, "alice")
        page.goto(f"{base}/spotify/")
        button = page.get_by_role("button", name="Unlink Spotify")
        screenshot(page, "deadends/spotify-unlink-danger")

        asked: list[str] = []

        def dismiss(dialog: Any) -> None:
            asked.append(dialog.message)
            dialog.dismiss()

        page.once("dialog", dismiss)
        button.click()
        page.wait_for_timeout(500)  # a form that went anyway would have posted by now
        assert asked
        assert asked[0].startswith("Unlink Spotify?")
        assert SpotifyAccount.objects.filter(user=alice).exists()

        page.once("dialog", lambda dialog: dialog.accept())
        with page.expect_navigation():
            button.click()
        page.get_by_text("Spotify is unlinked").wait_for()
        assert not SpotifyAccount.objects.filter(user=alice).exists()
