"""Account settings in a real browser: the browser's time zone offered in one click, saved over
HTMX, and the page saying the dashboard is being recomputed in it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password

from scrobbler.models import User
from tests.conftest import PASSWORD
from tests.e2e.conftest import screenshot, sign_in_page
from tests.processes import process_env, web_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_browsers_time_zone_is_offered_and_saved(
    tmp_path: Path, static_root: Path, tokyo_page: Any
) -> None:
    User.objects.create(username="alice", password=make_password(PASSWORD, hasher="pbkdf2_sha256"))
    page = tokyo_page
    with web_server(process_env(tmp_path, static_root), tmp_path / "web.log") as base:
        sign_in_page(page, base, "alice")
        page.click("nav >> text=Settings")
        page.wait_for_url(f"{base}/settings/")

        offer = page.locator("[data-tz-suggest]")
        offer.wait_for(state="visible")
        assert offer.locator("[data-tz-name]").inner_text() == "Asia/Tokyo"
        assert page.input_value("#id_time_zone") == "UTC"
        screenshot(page, "settings-time-zone-offer")

        offer.locator("[data-tz-use]").click()
        assert page.input_value("#id_time_zone") == "Asia/Tokyo"
        page.click("#settings-time-zone button[type=submit]")
        page.locator("#settings-time-zone .notice").wait_for()
        assert "recomputed in Asia/Tokyo" in page.locator("#settings-time-zone").inner_text()
        assert page.url == f"{base}/settings/"  # swapped in place, not a new page
        assert page.locator("[data-tz-suggest]").count() == 0  # no longer UTC: nothing to offer
        screenshot(page, "settings-time-zone-saved")

    assert User.objects.get(username="alice").time_zone == "Asia/Tokyo"
