"""The player bar in a real browser: browser contexts are devices of alice, following one playback
session; only the speaker's <audio> plays; controls work from any device; a device that was offline
catches up; bob sees nothing of it. Then the same across two web processes sharing Redis. The player
bar is saved as screenshots under test-artifacts/player/ (light and dark)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connections
from pytest_django import Settings

from playback.library import library_scan
from scrobbler.models import Album, Track, User
from tests.conftest import PASSWORD
from tests.e2e.conftest import ARTIFACTS, CHROMIUM_ARGS, screenshot
from tests.playback.flac import flac_write, png_bytes
from tests.processes import process_env, web_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

REDIS_URL = "redis://127.0.0.1:6379/14"
SECONDS = 20
WAIT_MS = 10_000
ALICE_ONLY = ("Low Water", "High Water", "Lone Song", "Tides")

# What a page plays, next to where the session says playback stands now (from the API, not the
# player's own reckoning).
AUDIO = """async () => {
  const response = await fetch('/api/sessions/me', {cache: 'no-store'});
  const s = await response.json();
  const projected = s.position_ms + (s.state === 'playing' ? Date.now() - s.server_time : 0);
  const audio = document.querySelector('[data-player-audio]');
  return {
    state: s.state, track: s.track && s.track.name, projected,
    current: audio.currentTime * 1000, paused: audio.paused, src: audio.currentSrc,
  };
}"""
PLAYING = """(trackId) => {
  const audio = document.querySelector('[data-player-audio]');
  return !audio.paused && audio.currentTime > 0.2 && audio.readyState >= 3
    && (trackId === null || audio.currentSrc.includes(`/media/tracks/${trackId}?`));
}"""
SILENT = """() => {
  const audio = document.querySelector('[data-player-audio]');
  return audio.paused;
}"""
AUDIO_SRC = "document.querySelector('[data-player-audio]').currentSrc"
BREAK_TOKEN = """() => {
  const audio = document.querySelector('[data-player-audio]');
  audio.src = audio.currentSrc.replace(/token=[^&]*/, 'token=expired');
}"""
SEEK_VALUE = "() => document.querySelector('[data-player-seek]').valueAsNumber"
UPCOMING = """() => [...document.querySelectorAll('[data-player-queue] .player-queue-name')]
  .map((name) => name.textContent)"""


def user(username: str) -> User:
    """A user whose password hash the real server (default hashers) can check."""
    return User.objects.create(
        username=username, password=make_password(PASSWORD, hasher="pbkdf2_sha256")
    )


@pytest.fixture
def music(tmp_path: Path, settings: Settings) -> Path:
    """Three real FLACs of 20 s, two of them one album with a cover, scanned into the library."""
    root = tmp_path / "music"
    cover = png_bytes(300, 300, "darkorange")
    album = {"ALBUM": "Tides", "ARTIST": "The Harbour", "DATE": "2021"}
    flac_write(
        root / "Harbour" / "02.flac",
        seconds=SECONDS,
        seed=2,
        cover=cover,
        tags={**album, "TITLE": "High Water", "TRACKNUMBER": "2"},
    )
    flac_write(
        root / "Harbour" / "01.flac",
        seconds=SECONDS,
        seed=1,
        cover=cover,
        tags={**album, "TITLE": "Low Water", "TRACKNUMBER": "1"},
    )
    flac_write(
        root / "Solo" / "lone.flac",
        seconds=SECONDS,
        seed=3,
        tags={"TITLE": "Lone Song", "ARTIST": "Solo Act", "ALBUM": "Elsewhere"},
    )
    settings.MUSIC_ROOT = root
    settings.COVER_CACHE_DIR = tmp_path / "covers"
    report = library_scan()
    assert report.added == 3, report
    return root


@pytest.fixture
def browser(chromium_path: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """One headless Chromium that may start audio without a click (each context is a device)."""
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


def device(browser: Any, base: str, username: str) -> Any:
    """A new browser context signed in through the form: its page, with the player ready."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form.stacked button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.wait_for_selector(".player:not([hidden])")
    return page


def device_id(page: Any) -> str:
    return str(page.evaluate("localStorage.getItem('encore.player.device')"))


def title(page: Any) -> str:
    return str(page.locator("[data-player-title]").inner_text())


def wait_title(page: Any, name: str) -> None:
    page.wait_for_function(
        "(name) => document.querySelector('[data-player-title]').textContent === name", arg=name
    )


def wait_playing(page: Any, track: Track | None = None) -> None:
    page.wait_for_function(PLAYING, arg=track.pk if track else None)


def choose_speaker(page: Any, chosen: Any) -> None:
    """In `page`'s device picker, choose the device `chosen` is."""
    page.click("[data-player-toggle=devices]")
    page.click(f"[data-player-devices] button[data-device='{device_id(chosen)}']")
    page.click("[data-player-toggle=devices]")


def open_album(page: Any, base: str) -> None:
    page.goto(f"{base}/library/")
    page.click("text=Tides")
    page.wait_for_selector("h1:text('Tides')")
    assert page.title() == "Tides · Library · Encore"


def assert_in_step(page: Any) -> dict[str, Any]:
    """The page's audio plays where the session says playback stands (within a second)."""
    audio: dict[str, Any] = page.evaluate(AUDIO)
    assert not audio["paused"], audio
    assert abs(audio["current"] - audio["projected"]) < 1000, audio
    return audio


def test_devices_follow_one_session_and_only_the_speaker_plays(
    tmp_path: Path, static_root: Path, music: Path, browser: Any
) -> None:
    user("alice")
    user("bob")
    low, high, lone = (Track.objects.get(name=n) for n in ("Low Water", "High Water", "Lone Song"))
    env = process_env(tmp_path, static_root, MUSIC_ROOT=str(music))
    (ARTIFACTS / "player").mkdir(parents=True, exist_ok=True)

    with web_server(env, tmp_path / "web.log") as base:
        a, b = device(browser, base, "alice"), device(browser, base, "alice")
        bob = device(browser, base, "bob")
        if a.evaluate("new Audio().canPlayType('audio/flac')") == "":
            pytest.skip("this Chromium cannot play FLAC")
        assert title(a) == title(b) == "Nothing playing"

        # A plays the album from its page; B follows within about a second, without a reload.
        open_album(a, base)
        started = time.monotonic()
        a.click("button:text('Play album')")
        wait_title(b, "Low Water")
        assert time.monotonic() - started < 1.5
        wait_playing(a, low)  # nobody was the speaker: the device that asked plays
        assert b.evaluate(SILENT)
        assert b.locator("[data-player-album]").inner_text() == "Tides"
        album = Album.objects.get(name="Tides")
        assert b.get_attribute("[data-player-album]", "href") == f"/library/albums/{album.pk}/"
        assert b.get_attribute("[data-player-cover]", "src")
        moved_from = b.evaluate(SEEK_VALUE)
        b.wait_for_function(f"() => ({SEEK_VALUE})() > {moved_from} + 500")  # B's progress moves

        # B takes the speaker in its own device picker: A falls silent, B plays where A was.
        choose_speaker(b, b)
        a.wait_for_function(SILENT)
        assert (
            a.evaluate("document.querySelector('[data-player-audio]').hasAttribute('src')") is False
        )
        wait_playing(b, low)
        assert_in_step(b)
        a.click("[data-player-toggle=devices]")
        assert a.get_attribute(f"button[data-device='{device_id(b)}']", "aria-pressed") == "true"
        assert a.get_attribute(f"button[data-device='{device_id(a)}']", "aria-pressed") == "false"
        a.click("[data-player-toggle=devices]")

        # Controls work from A, which no longer plays: a seek moves B's audio...
        a.locator("[data-player-seek]").fill("12000")
        b.wait_for_function(
            "() => document.querySelector('[data-player-audio]').currentTime > 11.5"
        )
        audio = assert_in_step(b)
        assert 11_500 < audio["projected"] < 15_000
        assert a.evaluate(SILENT)

        # ...and pausing (Space) pauses it.
        a.keyboard.press("Space")  # the seek bar still has the focus: Space is not typing
        b.wait_for_selector("[data-player-play][aria-label=Play]")
        b.wait_for_function(SILENT)
        assert b.evaluate(AUDIO)["track"] == "Low Water"

        # While paused, the queue as A edits it shows on B: Lone Song added, moved before High
        # Water, removed.
        a.goto(f"{base}/library/tracks/?q=lone")
        assert a.title() == "lone · Tracks · Library · Encore"
        a.click("button[aria-label='Add Lone Song to the queue']")
        a.click("[data-player-toggle=queue]")
        a.wait_for_function(f"() => ({UPCOMING})().length === 2")
        a.click("button[aria-label='Move Lone Song up']")
        b.click("[data-player-toggle=queue]")
        b.wait_for_function(f"() => ({UPCOMING})().join() === 'Lone Song,High Water'")
        a.goto(f"{base}/library/albums/{album.pk}/")
        a.click("[data-player-toggle=queue]")
        a.wait_for_selector("tr.is-current:has-text('Low Water')")  # the row playing is marked
        screenshot(a, "player/light-queue")
        a.click("button[aria-label='Remove Lone Song from the queue']")
        b.wait_for_function(f"() => ({UPCOMING})().join() === 'High Water'")
        a.click("[data-player-toggle=queue]")
        b.click("[data-player-toggle=queue]")

        # Shortcuts on A (not while typing) change the options B shows: repeat cycles, shuffle
        # toggles.
        for mode in ("all", "one", "off"):
            a.keyboard.press("r")
            b.wait_for_selector(f"[data-player-repeat][aria-label='Repeat: {mode}']")
            a.wait_for_selector(f"[data-player-repeat][data-mode={mode}]")
        a.focus("#library-q")
        a.keyboard.press("s")  # typed into the search box, not a shortcut
        for pressed in ("true", "false"):
            a.click("h1")
            a.keyboard.press("s")
            b.wait_for_selector(f"[data-player-shuffle][aria-pressed={pressed}]")
            a.wait_for_selector(f"[data-player-shuffle][aria-pressed={pressed}]")
        assert a.input_value("#library-q") == "s"

        # "Next" plays the next track on B, and a like from A shows there.
        a.click("[data-player-next]")
        wait_title(b, "High Water")
        wait_playing(b, high)
        assert a.evaluate(SILENT)
        # A request the media endpoint refuses (as a seek after the token expired would be): B
        # fetches a new URL and plays on where the session stands.
        refused: list[str] = []
        b.on("response", lambda r: refused.append(r.url) if r.status == 403 else None)
        b.evaluate(BREAK_TOKEN)
        b.wait_for_function(f"() => ({PLAYING})({high.pk}) && !({AUDIO_SRC}).includes('expired')")
        assert_in_step(b)
        assert any("/media/tracks/" in url and "token=expired" in url for url in refused), refused
        a.click("[data-player-like]")
        b.wait_for_selector("[data-player-like][aria-pressed=true]")
        screenshot(a, "player/light")
        a.click(".theme-picker button[value=dark]")
        a.click("[data-player-toggle=devices]")
        screenshot(a, "player/dark-devices")
        a.click("[data-player-toggle=devices]")

        # A goes offline; meanwhile B plays another track and pauses it. Back online, A catches up.
        a.context.set_offline(True)
        b.goto(f"{base}/library/tracks/?q=lone")
        b.click("button[aria-label='Play Lone Song']")
        wait_playing(b, lone)  # B is still the speaker after its page changed
        b.click("[data-player-play]")
        b.wait_for_function(SILENT)
        time.sleep(1)
        assert title(a) == "High Water"  # A has heard nothing while offline
        a.context.set_offline(False)
        wait_title(a, "Lone Song")
        a.wait_for_selector("[data-player-play][aria-label=Play]")
        assert a.evaluate(SILENT)
        screenshot(a, "player/dark")

        # Bob's player never showed any of it.
        assert title(bob) == "Nothing playing"
        text = bob.locator("body").inner_text()
        assert not [name for name in ALICE_ONLY if name in text]
        assert bob.evaluate(SILENT)


@pytest.fixture
def redis_db() -> Iterator[None]:
    """Redis database 14, emptied, for web processes that share it; skips without Redis."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.flushdb()
    except redis.RedisError:
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    yield
    client.flushdb()
    client.close()


def test_devices_on_two_web_processes_follow_each_other_through_redis(
    tmp_path: Path, static_root: Path, music: Path, browser: Any, redis_db: None
) -> None:
    user("alice")
    low = Track.objects.get(name="Low Water")
    env = process_env(tmp_path, static_root, MUSIC_ROOT=str(music), REDIS_URL=REDIS_URL)

    with (
        web_server(env, tmp_path / "web-1.log") as first,
        web_server(env, tmp_path / "web-2.log") as second,
    ):
        a, b = device(browser, first, "alice"), device(browser, second, "alice")
        if a.evaluate("new Audio().canPlayType('audio/flac')") == "":
            pytest.skip("this Chromium cannot play FLAC")
        open_album(a, first)
        a.click("button:text('Play album')")
        wait_title(b, "Low Water")
        wait_playing(a, low)
        choose_speaker(b, b)
        a.wait_for_function(SILENT)
        wait_playing(b, low)
        assert_in_step(b)
