"""Every page through axe-core (npm, run in headless Chromium) in both themes: no serious or
critical accessibility violation (contrast, names, labels, landmarks, ARIA) on any of them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from scrobbler.models import Album, Artist, Play, Track, TrackArtist, User
from scrobbler.rollups import rollups_mark, rollups_refresh
from tests.conftest import PASSWORD
from tests.e2e.conftest import CHROMIUM_ARGS, sign_in_page
from tests.processes import process_env, web_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
# Every on-load section has answered and been swapped in, and no request is still out.
SETTLED = """() => !document.querySelector('.loading, [aria-busy="true"], .htmx-request')"""
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  if (result.passes.length === 0) return [{id: 'axe-did-not-run', passes: result.passes.length}];
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                  nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ' :: ' + n.failureSummary)}));
}"""


def seeded_user() -> tuple[User, dict[str, int]]:
    """Alice, staff, with a year of plays of a few artists: every page has something to show."""
    alice = User.objects.create(
        username="alice",
        is_staff=True,
        password=make_password(PASSWORD, hasher="pbkdf2_sha256"),
        time_zone="Europe/Berlin",
    )
    artists = [
        Artist.objects.create(uri=f"spotify:artist:a{n}", name=f"Artist {n}") for n in range(4)
    ]
    albums = [Album.objects.create(uri=f"spotify:album:b{n}", name=f"Album {n}") for n in range(4)]
    tracks = []
    for n in range(12):
        made = Track.objects.create(
            uri=f"spotify:track:t{n}", name=f"Song {n}", album=albums[n % 4], duration_ms=200_000
        )
        TrackArtist.objects.create(track=made, artist=artists[n % 4], position=0)
        tracks.append(made)
    now = timezone.now()
    plays = []
    for n in range(600):
        ended = now - dt.timedelta(hours=n * 13 + 1)
        plays.append(
            Play(
                user=alice,
                track=tracks[(n * 7) % 12],
                started_at=ended - dt.timedelta(minutes=3),
                ended_at=ended,
                ms_played=180_000,
                source=Play.Source.IMPORT,
                counted=True,
            )
        )
    Play.objects.bulk_create(plays)
    rollups_mark(user_id=alice.pk, since=plays[-1].ended_at, until=plays[0].ended_at)
    rollups_refresh(alice.pk)
    return alice, {"track": tracks[0].pk, "artist": artists[0].pk, "album": albums[0].pk}


def signed_in_pages(ids: dict[str, int]) -> list[str]:
    year = timezone.now().year
    return [
        "/",
        "/top/tracks/",
        "/top/artists/",
        "/top/albums/",
        "/when/",
        "/habits/",
        "/recent/",
        "/on-this-day/",
        f"/year/{year}/",
        "/year/1990/",
        "/favourites/",
        f"/tracks/{ids['track']}/",
        f"/artists/{ids['artist']}/",
        f"/albums/{ids['album']}/",
        "/library/",
        "/imports/",
        "/spotify/",
        "/settings/",
        "/accounts/password/",
        "/global/",
        "/system/",
        "/no-such-page/",
    ]


SIGNED_OUT_PAGES = ["/", "/accounts/login/", "/accounts/signup/", "/no-such-page/"]


def violations(page: Any, url: str) -> list[dict[str, Any]]:
    page.goto(url)
    page.wait_for_function(SETTLED, timeout=15_000)
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(RUN_AXE)
    return found


# Both themes, each at one of the widths the pages are made for (a phone's and a desktop's).
@pytest.mark.parametrize(("theme", "width"), [("light", 390), ("dark", 1400)])
def test_no_serious_or_critical_violation_on_any_page(
    tmp_path: Path,
    static_root: Path,
    chromium_path: str,
    theme: str,
    width: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not AXE.exists():
        pytest.skip("axe-core is absent: run scripts/setup (npm ci installs it)")
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    _, ids = seeded_user()
    found: dict[str, list[dict[str, Any]]] = {}
    with (
        web_server(process_env(tmp_path, static_root), tmp_path / "web.log") as base,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            # Encore's CSP rightly refuses injected scripts: axe is let in by the browser itself.
            context = browser.new_context(bypass_csp=True, viewport={"width": width, "height": 900})
            context.add_cookies([{"name": "theme", "value": theme, "url": base}])
            page = context.new_page()
            for url in SIGNED_OUT_PAGES:
                found[f"signed out {url}"] = violations(page, base + url)
            sign_in_page(page, base, "alice")
            for url in signed_in_pages(ids):
                found[url] = violations(page, base + url)
        finally:
            browser.close()
    bad = {url: problems for url, problems in found.items() if problems}
    assert not bad, json.dumps(bad, indent=1)
