"""The page shell in a real browser. Music goes on while the user moves around the app (boosted
navigation swaps the page, never the player bar), and every page fits a phone and a wide screen in
both themes: no sideways scroll, the player bar inside the viewport. Every page is saved under
test-artifacts/pages/<page>-<width>-<theme>.png for people to look at."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connections
from django.utils import timezone
from pytest_django import Settings

from imports.models import Import
from playback.library import library_scan
from scrobbler.models import Album, Artist, Play, Track, TrackArtist, User
from scrobbler.rollups import rollups_mark, rollups_refresh
from tests.conftest import PASSWORD
from tests.e2e.conftest import ARTIFACTS, CHROMIUM_ARGS, sign_in_page
from tests.playback.flac import flac_write, png_bytes
from tests.processes import process_env, web_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WAIT_MS = 10_000
# Every on-load section has answered and been swapped in, and no request is still out.
SETTLED = """() => !document.querySelector('.loading, [aria-busy="true"], .htmx-request')"""
PLAYING = """() => {
  const audio = document.querySelector('[data-player-audio]');
  return !audio.paused && audio.currentTime > 0.2 && audio.readyState >= 3;
}"""
FITS = """() => {
  const player = document.querySelector('.player:not([hidden])');
  const box = player && player.getBoundingClientRect();
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    player: box && {left: box.left, right: box.right, top: box.top, bottom: box.bottom},
    innerHeight: window.innerHeight,
  };
}"""


def user(username: str, **fields: Any) -> User:
    """A user whose password hash the real server (default hashers) can check."""
    return User.objects.create(
        username=username, password=make_password(PASSWORD, hasher="pbkdf2_sha256"), **fields
    )


@pytest.fixture
def music(tmp_path: Path, settings: Settings) -> Path:
    """Two real FLACs of 60 s, one album with a cover, scanned into the library."""
    root = tmp_path / "music"
    album = {"ALBUM": "Tides", "ARTIST": "The Harbour", "DATE": "2021"}
    for number, name in ((1, "Low Water"), (2, "High Water")):
        flac_write(
            root / "Harbour" / f"0{number}.flac",
            seconds=60,
            seed=number,
            cover=png_bytes(300, 300, "darkorange"),
            tags={**album, "TITLE": name, "TRACKNUMBER": str(number)},
        )
    settings.MUSIC_ROOT = root
    settings.COVER_CACHE_DIR = tmp_path / "covers"
    assert library_scan().added == 2
    return root


@pytest.fixture
def browser(chromium_path: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """One headless Chromium that may start audio without a click."""
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # see tests/e2e/conftest.py
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path,
            args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"],
        )
        try:
            yield launched
        finally:
            launched.close()
            connections.close_all()


def sign_in(browser: Any, base: str, username: str, **context: Any) -> Any:
    """A new browser context signed in through the form: its page, on the overview."""
    page = browser.new_context(**context).new_page()
    page.set_default_timeout(WAIT_MS)
    sign_in_page(page, base, username)
    return page


# --- Playback survives navigation ----------------------------------------------------------------


def test_music_plays_on_while_the_user_follows_links_and_goes_back(
    tmp_path: Path, static_root: Path, music: Path, browser: Any
) -> None:
    user("alice")
    env = process_env(tmp_path, static_root, MUSIC_ROOT=str(music))
    with web_server(env, tmp_path / "web.log") as base:
        page = sign_in(browser, base, "alice", viewport={"width": 1280, "height": 800})
        if page.evaluate("new Audio().canPlayType('audio/flac')") == "":
            pytest.skip("this Chromium cannot play FLAC")
        page.click(".menu-wide a:text-is('Library')")
        page.wait_for_url(f"{base}/library/")
        page.click("text=Tides")
        page.wait_for_selector("h1:text('Tides')")
        page.click("button:text('Play album')")
        page.wait_for_function(PLAYING)

        # Marks that a page load would wipe out: a window property and the audio node itself.
        page.evaluate("""() => {
          window.stillHere = true;
          window.theAudio = document.querySelector('[data-player-audio]');
        }""")

        def audio_time() -> float:
            return float(page.evaluate("window.theAudio.currentTime"))

        def arrived(path: str, title: str) -> None:
            page.wait_for_url(f"{base}{path}")
            page.wait_for_function("(t) => document.title === t", arg=title)
            page.wait_for_function(SETTLED)
            assert page.evaluate("window.stillHere === true"), "the page was reloaded"
            assert page.evaluate(
                "window.theAudio === document.querySelector('[data-player-audio]')"
                " && document.body.contains(window.theAudio) && !window.theAudio.paused"
            )
            # The new content, not the old, and focus on it as after a page load.
            page.wait_for_function(
                "() => document.getElementById('main').contains(document.activeElement)"
            )

        heard = audio_time()

        def still_playing() -> None:
            nonlocal heard
            page.wait_for_function("(t) => window.theAudio.currentTime > t + 0.3", arg=heard)
            heard = audio_time()

        steps = [
            (".menu-wide a:text-is('Recent')", "/recent/", "Recent plays · Encore"),
            (".menu-wide a:text-is('Top')", "/top/tracks/", "Top tracks · Encore"),
            (".menu-wide a:text-is('Settings')", "/settings/", "Settings · Encore"),
            (".menu-wide a:text-is('Overview')", "/", None),
            (".menu-wide a:text-is('Library')", "/library/", None),
        ]
        titles: list[str] = []
        for selector, path, title in steps:
            page.click(selector)
            page.wait_for_url(f"{base}{path}")
            expected = title or page.title()
            arrived(path, expected)
            titles.append(expected)
            assert page.get_attribute(selector, "aria-current") == "page"
            still_playing()

        page.go_back()
        arrived("/", titles[3])
        still_playing()
        page.go_back()
        arrived("/settings/", titles[2])
        assert page.locator("h1").first.inner_text() == "Account settings"
        page.go_forward()
        arrived("/", titles[3])
        still_playing()

        # An error page (here a 400 for a query no page of ours makes) is shown in the shell too.
        page.evaluate("""() => {
          const link = Object.assign(document.createElement('a'), {href: '/recent/?before=yesterday', id: 'nowhere'});
          link.textContent = 'Nowhere';
          document.getElementById('main').append(link);
          htmx.process(link);
        }""")
        page.click("#nowhere")
        arrived("/recent/?before=yesterday", "Bad request · Encore")
        assert page.locator(".menu-wide a:text-is('Library')").count() == 1  # in the shell
        still_playing()

        # A GET form (the library's search) and the theme picker change nothing of the player.
        page.click(".menu-wide a:text-is('Library')")
        arrived("/library/", titles[4])
        page.fill("#library-q", "Water")
        page.press("#library-q", "Enter")
        page.wait_for_url(f"{base}/library/tracks/?q=Water")
        page.wait_for_selector("[data-track-row] >> text=High Water")
        assert page.evaluate("window.stillHere === true")
        page.click(".theme-picker button[value=dark]")
        assert page.get_attribute("html", "data-theme") == "dark"
        still_playing()
        assert page.evaluate("window.stillHere === true")

        # Scroll as after page loads: a new page starts at the top, going back returns to where
        # the page was left.
        page.click(".menu-wide a:text-is('Settings')")
        arrived("/settings/", titles[2])
        page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        left_at = page.evaluate("window.scrollY")
        assert left_at > 200
        page.click("[data-player-album]")  # in the player bar, so on screen wherever one scrolls
        arrived(
            f"/library/albums/{Album.objects.get(name='Tides').pk}/", "Tides · Library · Encore"
        )
        assert page.evaluate("window.scrollY") == 0
        page.go_back()
        arrived("/settings/", titles[2])
        page.wait_for_function("(y) => Math.abs(window.scrollY - y) < 5", arg=left_at)

        # The session ends (signed out elsewhere): the next link loads the sign-in page in full,
        # not inside a shell that is no longer the user's.
        page.context.clear_cookies()
        page.click(".menu-wide a:text-is('Recent')")
        page.wait_for_url(f"{base}/accounts/login/?next=/recent/")
        page.wait_for_selector("#id_username")
        assert page.evaluate("window.stillHere === undefined")
        assert page.locator("[data-player]").count() == 0


# --- On a phone -------------------------------------------------------------------------------


def box(page: Any, selector: str) -> dict[str, float]:
    found: dict[str, float] = page.locator(selector).first.bounding_box()
    assert found, f"{selector} is not shown"
    return found


def test_on_a_phone_the_menu_folds_and_the_player_bar_fits(
    tmp_path: Path, static_root: Path, music: Path, browser: Any
) -> None:
    user("alice")
    env = process_env(tmp_path, static_root, MUSIC_ROOT=str(music))
    with web_server(env, tmp_path / "web.log") as base:
        page = sign_in(browser, base, "alice", viewport={"width": 390, "height": 844})
        # The first Tab reaches the skip link, which leads to the content.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/#main")
        # Scrolled to the content, past the header (as far as a short page can scroll).
        assert page.evaluate(
            "Math.abs(document.querySelector('main').getBoundingClientRect().top) <= 1"
            " || scrollY + innerHeight >= document.documentElement.scrollHeight - 1"
        )
        assert page.evaluate("scrollY") > 0
        # The page has an icon.
        icon = page.get_attribute("link[rel=icon]", "href")
        assert page.request.get(f"{base}{icon}").headers["content-type"] == "image/svg+xml"

        # The menu is one "Menu" button until opened; then every link is a 44 px target and the
        # current page is marked.
        assert not page.locator(".menu-wide").is_visible()
        assert not page.locator(".menu-compact nav a").first.is_visible()
        assert box(page, ".topbar")["height"] < 70
        page.click(".menu-compact summary")
        links = page.locator(".menu-compact nav a")
        assert links.count() >= 12
        for index in range(links.count()):
            assert links.nth(index).bounding_box()["height"] >= 44
        assert page.get_attribute(".menu-compact a:text-is('Overview')", "aria-current") == "page"
        (ARTIFACTS / "pages").mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "pages" / "menu-open-390.png"))
        assert box(page, ".theme-picker button[value=dark]")["height"] >= 44
        page.click(".menu-compact a:text-is('Library')")
        page.wait_for_url(f"{base}/library/")
        assert not page.locator(".menu-compact nav a").first.is_visible()  # closed again
        page.click(".menu-compact summary")
        assert page.get_attribute(".menu-compact a:text-is('Library')", "aria-current") == "page"
        page.click(".menu-compact summary")

        # Playing, the bar is inside the screen, the title readable, the controls 44 px wide, no
        # volume slider.
        page.click("text=Tides")
        page.wait_for_selector("h1:text('Tides')")
        page.click("button:text('Play album')")
        page.wait_for_function(
            "() => document.querySelector('[data-player-title]').textContent === 'Low Water'"
        )
        bar = box(page, ".player")
        assert bar["x"] >= 0
        assert bar["x"] + bar["width"] <= 390
        assert bar["y"] + bar["height"] <= 844
        title = page.locator("[data-player-title]")
        assert title.evaluate("(el) => el.scrollWidth <= el.clientWidth")  # "Low Water" in full
        assert box(page, "[data-player-title]")["width"] >= 120
        assert not page.locator(".player-volume").is_visible()
        for control in ("play", "previous", "next", "like", "shuffle", "repeat"):
            found = box(page, f"[data-player-{control}]")
            assert found["width"] >= 44, control
            assert found["height"] >= 44, control
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path=str(ARTIFACTS / "pages" / "player-playing-390.png"))


# --- Every page, on a phone and a wide screen, in both themes ----------------------------------


def seed_history(owner: User) -> dict[str, int]:
    """Sixty days of listening to twelve tracks (one with a very long name), some liked, and one
    finished import: enough for every page to show what it is for."""
    artists = [
        Artist.objects.create(uri=f"spotify:artist:a{i}", name=f"Artist {i}") for i in range(4)
    ]
    albums = []
    for i in range(3):
        album = Album.objects.create(uri=f"spotify:album:b{i}", name=f"Album number {i}")
        album.artists.set([artists[i]])
        albums.append(album)
    tracks = []
    for i in range(12):
        name = (
            "An Extraordinarily Long Track Name That Goes On (Live at the Royal Albert Hall, 1997"
            " Remastered Deluxe Edition)"
            if i == 0
            else f"Song {i:02d}"
        )
        made = Track.objects.create(uri=f"spotify:track:t{i}", name=name, album=albums[i % 3])
        TrackArtist.objects.create(track=made, artist=artists[i % 4], position=0)
        tracks.append(made)
    now = timezone.now().replace(microsecond=0)
    plays = [
        Play(
            user=owner,
            track=tracks[(day * 7 + n) % 12],
            started_at=now - dt.timedelta(days=day, hours=n * 3, minutes=4),
            ended_at=now - dt.timedelta(days=day, hours=n * 3),
            ms_played=200_000,
            source=Play.Source.IMPORT,
            counted=True,
            skipped=False,
        )
        for day in range(60)
        for n in range(4)
    ]
    Play.objects.bulk_create(plays)
    rollups_mark(user_id=owner.pk, since=now - dt.timedelta(days=61), until=now)
    rollups_refresh(owner.pk)
    done = Import.objects.create(
        user=owner,
        name="my_spotify_data.zip",
        status=Import.Status.DONE,
        rows_total=240,
        rows_done=240,
        result={"added": 240, "added_counted": 240, "already": 0, "refined": 0, "repeated": 0},
    )
    return {
        "track": tracks[0].pk,
        "artist": artists[0].pk,
        "album": albums[0].pk,
        "import": done.pk,
    }


def test_every_page_fits_a_phone_and_a_wide_screen_in_both_themes(
    tmp_path: Path, static_root: Path, music: Path, browser: Any
) -> None:
    alice = user("alice", is_staff=True, share_stats=True)
    ids = seed_history(alice)
    imp = Import.objects.get(pk=ids["import"])
    library_album = Album.objects.get(name="Tides").pk
    library_artist = Artist.objects.get(name="The Harbour").pk
    year = timezone.now().year
    signed_in = {
        "overview": "/",
        "top-tracks": "/top/tracks/",
        "top-artists": "/top/artists/",
        "top-albums": "/top/albums/",
        "when": "/when/",
        "habits": "/habits/",
        "recent": "/recent/",
        "on-this-day": "/on-this-day/",
        "year": f"/year/{year}/",
        "favourites": "/favourites/",
        "track": f"/tracks/{ids['track']}/?range=all",
        "artist": f"/artists/{ids['artist']}/?range=all",
        "album": f"/albums/{ids['album']}/?range=all",
        "library": "/library/",
        "library-artists": "/library/artists/",
        "library-tracks": "/library/tracks/",
        "library-album": f"/library/albums/{library_album}/",
        "library-artist": f"/library/artists/{library_artist}/",
        "imports": "/imports/",
        "import": f"/imports/{imp.public_id}/",
        "spotify": "/spotify/",
        "settings": "/settings/",
        "global": "/global/",
        "system": "/system/",
        "not-found": "/no-such-page/",
    }
    signed_out = {"welcome": "/", "sign-in": "/accounts/login/", "sign-up": "/accounts/signup/"}
    out = ARTIFACTS / "pages"
    out.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []

    env = process_env(
        tmp_path, static_root, MUSIC_ROOT=str(music), COVER_CACHE_DIR=str(tmp_path / "covers")
    )
    with web_server(env, tmp_path / "web.log") as base:
        state = sign_in(browser, base, "alice").context.storage_state()
        for width in (390, 1400):
            for theme in ("light", "dark"):
                theme_cookie = {"name": "theme", "value": theme, "url": base}
                for who, pages in (("alice", signed_in), (None, signed_out)):
                    context = browser.new_context(
                        viewport={"width": width, "height": 844 if width < 700 else 900},
                        storage_state=state if who else None,
                    )
                    context.add_cookies([theme_cookie])
                    page = context.new_page()
                    page.set_default_timeout(WAIT_MS)
                    for name, path in pages.items():
                        page.goto(f"{base}{path}")
                        page.wait_for_function(SETTLED)
                        if who and page.locator("[data-player]").count():
                            page.wait_for_selector(".player:not([hidden])")
                        if page.locator("#page").count():  # one of our pages (404: not yet)
                            assert page.get_attribute("html", "data-theme") == theme
                        fits = page.evaluate(FITS)
                        where = f"{name} at {width} px, {theme}"
                        if fits["scrollWidth"] > fits["innerWidth"]:
                            problems.append(f"{where}: scrolls sideways {fits}")
                        box = fits["player"]
                        if box and (
                            box["left"] < 0
                            or box["right"] > fits["innerWidth"]
                            or box["bottom"] > fits["innerHeight"]
                            or box["top"] < 0
                        ):
                            problems.append(f"{where}: player bar outside the viewport {fits}")
                        page.screenshot(
                            path=str(out / f"{name}-{width}-{theme}.png"), full_page=True
                        )
                    context.close()
    assert not problems, "\n".join(problems)
