"""Pictures in a real browser: album art fetched by the worker from the simulator over HTTP,
stored, then shown by a top page; every image loads (naturalWidth > 0) and the browser asks no
host but Encore. The page is saved under test-artifacts/pictures-top-albums-*.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from pytest_django import Settings

from scrobbler import pictures
from scrobbler.models import User
from tests.conftest import PASSWORD
from tests.dashboard.test_dashboard_views import listen
from tests.e2e.conftest import screenshot, sign_in_page
from tests.factories import AlbumFactory, ArtistFactory, TrackFactory
from tests.processes import process_env, web_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ALBUM_IDS = ["4aawyAB9vmqN3uQ7FjRGTy", "1ATL5GLyefJaxhQzSPVrLX", "6s84u2TUpR3wdUv4NgKA2j"]
# Whether every picture on the page has loaded, and loaded something.
ALL_LOADED = """() => [...document.querySelectorAll('img.pic')].every(
  (img) => img.complete && img.naturalWidth > 0)"""


def test_a_top_page_shows_the_stored_album_art(
    browser_page: Any, settings: Settings, sim_server: str, static_root: Path, tmp_path: Path
) -> None:
    settings.SPOTIFY_API_BASE_URL = f"{sim_server}/v1"  # the simulator's host is allowed
    settings.PICTURES_DIR = tmp_path / "pictures"  # the web server's, under its DATA_DIR
    alice = User.objects.create(
        username="alice", password=make_password(PASSWORD, hasher="pbkdf2_sha256")
    )
    artist = ArtistFactory.create(name="The Generated")
    tracks = [
        TrackFactory.create(
            album=AlbumFactory.create(
                name=f"Generated {i}", image_url=f"{sim_server}/images/album/{ident}/640.jpg"
            ),
            artists=[artist],
        )
        for i, ident in enumerate(ALBUM_IDS)
    ]
    tracks.append(TrackFactory.create(album=AlbumFactory.create(name="No art yet")))
    listen(alice, tracks, plays=40, seed=1)
    assert pictures.pictures_fetch_missing().stored == len(ALBUM_IDS)

    page = browser_page
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    with web_server(process_env(tmp_path, static_root), tmp_path / "web.log") as base:
        sign_in_page(page, base, "alice")
        page.goto(f"{base}/top/albums/?range=all")
        page.wait_for_function(ALL_LOADED)
        sizes = page.eval_on_selector_all(
            "img.pic", "(imgs) => imgs.map((img) => [img.naturalWidth, img.width, img.alt])"
        )
        assert sizes == [[64, 40, ""]] * len(ALBUM_IDS)  # the 64 px copy, shown at 40 px
        assert page.locator(".pic-none").count() == 1  # the album without art: a placeholder
        screenshot(page, "pictures-top-albums-light")
        page.emulate_media(color_scheme="dark")
        screenshot(page, "pictures-top-albums-auto-dark")
    assert asked
    assert all(url.startswith(base) for url in asked), [u for u in asked if not u.startswith(base)]
