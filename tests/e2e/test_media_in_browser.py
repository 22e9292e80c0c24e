"""A real browser plays from the media endpoint: Chromium's <audio> loads a track's FLAC through a
media token and seeks into it with range requests."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from playback.models import Device, LibraryFile, PlaybackSession
from playback.tokens import media_token
from scrobbler.models import Track
from tests.conftest import PASSWORD
from tests.factories import TrackFactory, UserFactory
from tests.playback.flac import flac_write
from tests.processes import process_env, web_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SEEK = """
async ([url, position]) => {
  const audio = new Audio();
  const next = (event) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} in 20 s`)), 20000);
    audio.addEventListener(event, () => { clearTimeout(timer); resolve(); }, {once: true});
    audio.addEventListener("error", () => {
      clearTimeout(timer);
      reject(new Error(`media error ${audio.error && audio.error.code}`));
    }, {once: true});
  });
  const loaded = next("loadedmetadata");
  audio.src = url;
  await loaded;
  const seeked = next("seeked");
  audio.currentTime = position;
  await seeked;
  return {
    currentTime: audio.currentTime,
    duration: audio.duration,
    error: audio.error && audio.error.code,
  };
}
"""


def library_track(root: Path, name: str, *, seconds: float) -> Track:
    """A catalog track whose library file is a FLAC of `seconds` under `root`."""
    flac_write(root / name, seconds=seconds)
    track = TrackFactory.create()
    LibraryFile.objects.create(
        path=name.encode(),
        path_key=hashlib.sha1(name.encode()).hexdigest(),  # noqa: S324 - a key, not security
        display_path=name,
        size=(root / name).stat().st_size,
        mtime_ns=0,
        scanned_at=timezone.now(),
        track=track,
    )
    return track


def test_chromium_loads_a_track_and_seeks_into_it(
    tmp_path: Path, static_root: Path, browser_page: Any
) -> None:
    page = browser_page
    alice = UserFactory.create(username="alice")
    alice.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    alice.save(update_fields=["password"])
    root = tmp_path / "music"
    song = library_track(root, "song.flac", seconds=20)
    long_song = library_track(root, "long.flac", seconds=180)  # more than one read ahead
    log = tmp_path / "web.log"
    media: list[tuple[int, str]] = []
    page.on(
        "response",
        lambda response: (
            media.append((response.status, response.request.headers.get("range")))
            if "/media/tracks/" in response.url
            else None
        ),
    )

    with web_server(process_env(tmp_path, static_root, MUSIC_ROOT=str(root)), log) as base:
        page.goto(f"{base}/accounts/login/")
        page.fill("#id_username", "alice")
        page.fill("#id_password", PASSWORD)
        page.click("form.stacked button[type=submit]")
        page.wait_for_url(f"{base}/")
        if page.evaluate("new Audio().canPlayType('audio/flac')") == "":
            pytest.skip("this Chromium cannot play FLAC")

        device = Device.objects.create(
            user=alice, client_id="browser", name="Chromium", last_seen=timezone.now()
        )
        # The page's player may have made the session already: make this device its speaker.
        session, _ = PlaybackSession.objects.update_or_create(
            user=alice, defaults={"active_device": device, "changed_at": timezone.now()}
        )

        def address(track: Track) -> str:
            return f"{base}/media/tracks/{track.pk}?token={media_token(session, track.pk)}"

        near = page.evaluate(SEEK, [address(song), 2.5])
        far = page.evaluate(SEEK, [address(long_song), 150])

    assert near["error"] is None
    assert near["duration"] == pytest.approx(20, abs=0.05)
    assert near["currentTime"] == pytest.approx(2.5, abs=0.05)
    assert far["error"] is None
    assert far["duration"] == pytest.approx(180, abs=0.05)
    assert far["currentTime"] == pytest.approx(150, abs=0.05)
    assert media, "the browser fetched nothing from the media endpoint"
    assert all(status in (200, 206) for status, _ in media), media
    assert any(status == 206 for status, _ in media), media
    assert any(header != "bytes=0-" for _, header in media), media  # seeking fetched from within
    # and the server answered that part (no-store: nothing came from the browser's cache).
    assert any(status == 206 and header != "bytes=0-" for status, header in media), media
