"""The 404 page and a new user's empty pages in a real browser, in both themes: the menu is there
and the next steps are links. Screenshots go to test-artifacts/deadends/."""

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


def test_404_and_empty_pages_have_the_menu_and_next_steps(
    tmp_path: Path, static_root: Path, browser_page: Any
) -> None:
    User.objects.create(username="alice", password=make_password(PASSWORD, hasher="pbkdf2_sha256"))
    page = browser_page
    with web_server(process_env(tmp_path, static_root), tmp_path / "web.log") as base:
        response = page.goto(f"{base}/no/such/page/")
        assert response.status == 404
        assert page.get_by_role("heading", name="Page not found").is_visible()
        assert page.get_by_role("navigation", name="Main").is_visible()
        screenshot(page, "deadends/404-anonymous")

        sign_in_page(page, base, "alice")
        for theme in ("light", "dark"):
            page.context.add_cookies([{"name": "theme", "value": theme, "url": base}])
            page.goto(f"{base}/")
            empty = page.locator(".empty-state")
            assert "No plays yet" in empty.inner_text()
            empty.get_by_role("link", name="Import your listening history").wait_for()
            screenshot(page, f"deadends/overview-empty-{theme}")
            page.goto(f"{base}/year/1990/")
            assert "No plays in 1990" in page.locator(".empty-state").inner_text()
            screenshot(page, f"deadends/year-empty-{theme}")
            response = page.goto(f"{base}/system/")
            assert response.status == 403
            assert page.get_by_role("heading", name="Not allowed").is_visible()
            assert page.get_by_role("link", name="Recent").is_visible()  # the signed-in menu
            screenshot(page, f"deadends/403-{theme}")
            page.goto(f"{base}/settings/")
            screenshot(page, f"deadends/settings-{theme}")
