"""A dashboard section whose request fails says so and offers Retry, instead of "Loading…"
forever; Retry (by keyboard too) loads the section once the server answers again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password

from scrobbler.models import User
from tests.conftest import PASSWORD
from tests.e2e.conftest import screenshot, sign_in_page
from tests.factories import PlayFactory
from tests.processes import process_env, web_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TOTALS = "**/dashboard/totals/**"


def sign_in(page: Any, base: str) -> None:
    sign_in_page(page, base, "alice")


@pytest.mark.parametrize("failure", ["500", "abort"])
def test_a_failed_section_offers_retry_and_recovers(
    tmp_path: Path, static_root: Path, browser_page: Any, failure: str
) -> None:
    alice = User.objects.create(
        username="alice", password=make_password(PASSWORD, hasher="pbkdf2_sha256")
    )
    PlayFactory.create(user=alice)  # a user with no plays sees no sections to load at all
    page = browser_page
    with web_server(process_env(tmp_path, static_root), tmp_path / "web.log") as base:
        sign_in(page, base)

        def fail(route: Any) -> None:
            if failure == "500":
                route.fulfill(status=500, body="boom")
            else:
                route.abort()

        page.route(TOTALS, fail)
        page.goto(f"{base}/")
        section = page.locator("#section-totals")
        alert = section.get_by_role("alert")
        alert.wait_for()
        assert "Couldn't load" in alert.inner_text()
        assert section.locator(".loading").count() == 0
        screenshot(page, f"deadends/section-failed-{failure}")

        page.unroute(TOTALS)
        retry = section.get_by_role("button", name="Retry")
        retry.focus()
        page.keyboard.press("Enter")
        section.locator("[data-stat=plays]").wait_for()
        assert section.get_by_role("alert").count() == 0
        # The other sections were never affected.
        assert page.locator(".load-failed").count() == 0


def test_a_failed_swap_of_the_top_table_retries_in_place(
    tmp_path: Path, static_root: Path, browser_page: Any
) -> None:
    alice = User.objects.create(
        username="alice", password=make_password(PASSWORD, hasher="pbkdf2_sha256")
    )
    PlayFactory.create(user=alice)
    page = browser_page
    with web_server(process_env(tmp_path, static_root), tmp_path / "web.log") as base:
        sign_in(page, base)
        page.goto(f"{base}/top/tracks/")
        sorted_by_time = "**/top/tracks/?*order=time*"
        page.route(sorted_by_time, lambda route: route.fulfill(status=503, body="down"))
        page.locator("#top-table .sort").get_by_role("link", name="time").click()
        table = page.locator("#top-table")
        table.get_by_role("alert").wait_for()

        page.unroute(sorted_by_time)
        table.get_by_role("button", name="Retry").click()
        table.locator("tbody tr").first.wait_for()
        # Swapped as the sort link swaps (outerHTML): one table, not one inside the other.
        assert page.locator("#top-table").count() == 1
        assert page.locator("#top-table .sort [aria-current=true]").inner_text() == "time"
