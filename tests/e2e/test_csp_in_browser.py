"""The Content-Security-Policy in a real browser: the main pages (and the admin's sign-in) load
their scripts and styles from our static files only, so the policy without 'unsafe-inline' blocks
nothing of ours; an inline style injected on purpose is blocked and reported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password

from scrobbler.models import User
from tests.conftest import PASSWORD
from tests.e2e.conftest import screenshot
from tests.factories import PlayFactory
from tests.processes import process_env, web_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Every violation the page sees, whatever its source (Playwright's init scripts are not subject
# to the page's policy, so this listener is there before the page's own scripts run).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`);
});
"""
SETTLED = """() => !document.querySelector('.loading, [aria-busy="true"], .htmx-request')"""
SIGNED_IN_PAGES = [
    "/",
    "/top/tracks/",
    "/recent/",
    "/library/",
    "/imports/",
    "/settings/",
    "/spotify/",
    # Not /global/: with REDIS_URL its cached figures would outlive this test and show in the
    # next test's servers (the page is the same layout and charts as the dashboard's).
    "/system/",
    "/admin/",
]


def visit(page: Any, url: str, console: list[str]) -> list[str]:
    """Open the page, let HTMX load its sections, and return what the policy blocked."""
    response = page.goto(url)
    assert response.status == 200, url
    assert "default-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_function(SETTLED)
    page.wait_for_timeout(300)  # late loads (cover art, the player's first snapshot)
    blocked: list[str] = page.evaluate("window.__cspViolations")
    return blocked + [line for line in console if "Content Security Policy" in line]


def test_the_main_pages_break_no_rule_of_the_policy(
    tmp_path: Path, static_root: Path, browser_page: Any
) -> None:
    alice = User.objects.create(
        username="alice",
        password=make_password(PASSWORD, hasher="pbkdf2_sha256"),
        is_staff=True,
        is_superuser=True,
    )
    for _ in range(5):
        PlayFactory.create(user=alice)
    page = browser_page
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(RECORD_VIOLATIONS)
    with web_server(process_env(tmp_path, static_root), tmp_path / "web.log") as base:
        problems = {}
        for url in ("/accounts/login/", "/admin/login/"):
            problems[url] = visit(page, f"{base}{url}", console)

        page.goto(f"{base}/accounts/login/")
        page.fill("#id_username", "alice")
        page.fill("#id_password", PASSWORD)
        page.click("form.stacked button[type=submit]")
        page.wait_for_url(f"{base}/")
        for url in [*SIGNED_IN_PAGES, f"/admin/scrobbler/user/{alice.pk}/change/"]:
            console.clear()
            problems[url] = visit(page, f"{base}{url}", console)
        screenshot(page, "csp-admin")
        assert {url: found for url, found in problems.items() if found} == {}

        # The listener does see what the policy blocks: an inline style added now.
        page.goto(f"{base}/")
        page.wait_for_function(SETTLED)
        page.evaluate(
            "document.body.insertAdjacentHTML('beforeend', '<b style=\"color: red\">x</b>')"
        )
        page.wait_for_function("window.__cspViolations.length > 0")
        assert page.evaluate("window.__cspViolations")[0].startswith("style-src")
