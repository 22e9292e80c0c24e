"""The pictures worker: album and artist images downloaded, resized and stored once, from allowed
hosts only, with hostile answers refused and counted; and the URL that serves them."""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from PIL import Image
from pytest_django import Settings

from scrobbler import metadata, pictures, polling
from scrobbler.models import Album, Artist, PollMode, User
from tests.factories import AlbumFactory, ArtistFactory
from tests.playback.test_covers import png_claiming
from tests.scrobbler.spotify_helpers import sim_linked_account
from tests.spotify_sim.conftest import Sim

pytestmark = pytest.mark.django_db


def png(width: int = 500, height: int = 400) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 90)).save(out, "PNG")
    return out.getvalue()


class ImageHost(BaseHTTPRequestHandler):
    """A hostile image host: each path answers one way; every request is recorded."""

    requests: list[str]

    def do_GET(self) -> None:
        self.server.requests.append(self.path)  # type: ignore[attr-defined]
        path = self.path.split("?")[0]
        if path == "/ok.png":
            self._send(200, png())
        elif path == "/other.png":
            self._send(200, png(64, 64))
        elif path == "/bomb":  # a small file claiming 60,000 x 60,000 pixels
            self._send(200, png_claiming(60_000, 60_000))
        elif path == "/truncated":
            self._send(200, png()[:200])
        elif path == "/not-an-image":
            self._send(200, b"<html>hello</html>", "text/html")
        elif path == "/huge-declared":
            self.send_response(200)
            self.send_header("Content-Length", str(50 * 1024 * 1024))
            self.end_headers()
            self.wfile.write(b"\xff" * 1024)
        elif path == "/huge-undeclared":  # no Content-Length: the cap counts what arrives
            self.send_response(200)
            self.end_headers()
            for _ in range(64):
                self.wfile.write(b"\xff" * 65536)
        elif path == "/slow":
            time.sleep(3)
            self._send(200, png())
        elif path == "/429":
            self.send_response(429)
            self.send_header("Retry-After", "120")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/500":
            self._send(500, b"oops")
        elif path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._send(404, b"not found")

    def _send(self, status: int, body: bytes, kind: str = "image/png") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def serve() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), ImageHost)
    server.requests = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(autouse=True)
def pictures_dir(settings: Settings, tmp_path: Path) -> Path:
    settings.PICTURES_DIR = tmp_path / "pictures"
    settings.PICTURES_BATCH_SIZE = 500
    settings.PICTURES_MAX_KB = 1024
    settings.PICTURES_TIMEOUT_SECONDS = 1.0
    settings.METADATA_BATCH_SIZE = 500
    cache.clear()
    return settings.PICTURES_DIR


@pytest.fixture
def host(settings: Settings) -> Iterator[str]:
    """A local image host, allowed as SPOTIFY_API_BASE_URL's host is (the simulator's)."""
    server = serve()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    settings.SPOTIFY_API_BASE_URL = f"{base}/v1"
    yield base
    server.shutdown()


def album(url: str) -> Album:
    return AlbumFactory.create(image_url=url)


def test_albums_and_artists_from_the_simulator_get_stored_pictures(
    alice: User, spotify: Sim, pictures_dir: Path
) -> None:
    account = sim_linked_account(alice, spotify, "alice-sp", poll_mode=PollMode.HISTORY)
    polling.poll_accounts([account.pk], force=True)
    while metadata.metadata_fetch_missing().fetched:
        pass
    pictured: list[Album | Artist] = [
        *Album.objects.filter(uri__startswith="spotify:"),
        *Artist.objects.filter(uri__startswith="spotify:"),
    ]
    assert pictured
    assert all(e.image_url.startswith(spotify.api.removesuffix("/v1")) for e in pictured)

    run = pictures.pictures_fetch_missing()

    assert (run.stored, run.failed, run.stopped_by) == (len(pictured), 0, "")
    for entity in pictured:
        entity.refresh_from_db()
        assert len(entity.picture_key) == 40
        for size in pictures.PICTURE_SIZES:
            with Image.open(pictures_dir / f"{entity.picture_key}-{size}.jpg") as stored:
                assert stored.format == "JPEG"
                assert max(stored.size) == size
    assert pictures.pictures_fetch_missing().stored == 0  # each is fetched once


def test_a_stored_picture_is_resized_and_content_addressed(host: str, pictures_dir: Path) -> None:
    first, second = album(f"{host}/ok.png"), album(f"{host}/ok.png?again")
    assert pictures.pictures_fetch_missing().stored == 2
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.picture_key == second.picture_key  # same bytes, one stored picture
    assert sorted(p.name for p in pictures_dir.iterdir()) == [
        f"{first.picture_key}-300.jpg",
        f"{first.picture_key}-64.jpg",
    ]
    with Image.open(pictures_dir / f"{first.picture_key}-300.jpg") as big:
        assert big.size == (300, 240)  # aspect kept


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "https://evil.example/cover.jpg",
        "http://i.scdn.co/image/abc",  # an allowed host, but not over https
        "https://user:pass@i.scdn.co/image/abc",
    ],
)
def test_a_disallowed_host_is_never_fetched_and_never_retried(
    settings: Settings, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    internal = serve()  # stands for an internal service; the worker must not reach it
    settings.PICTURES_ALLOWED_HOSTS = ["i.scdn.co"]
    entity = album(url.replace("169.254.169.254", f"127.0.0.1:{internal.server_address[1]}"))
    with caplog.at_level(logging.WARNING):
        run = pictures.pictures_fetch_missing()
    entity.refresh_from_db()
    assert (run.stored, run.failed) == (0, 1)
    assert internal.requests == []  # type: ignore[attr-defined]
    assert entity.picture_key == ""
    assert entity.picture_attempts == settings.PICTURES_MAX_ATTEMPTS
    assert "host not in PICTURES_ALLOWED_HOSTS" in caplog.text
    internal.shutdown()


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/huge-declared", "more than PICTURES_MAX_KB"),
        ("/huge-undeclared", "more than PICTURES_MAX_KB"),
        ("/not-an-image", "not a usable image"),
        ("/bomb", "not a usable image"),
        ("/truncated", "not a usable image"),
        ("/missing", "HTTP 404"),
        ("/redirect", "HTTP 302"),  # redirects are not followed (they could lead anywhere)
    ],
)
def test_a_bad_answer_is_refused_counted_and_the_run_goes_on(
    host: str, path: str, reason: str, pictures_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad, good = album(f"{host}{path}"), album(f"{host}/ok.png")
    with caplog.at_level(logging.WARNING):
        run = pictures.pictures_fetch_missing()
    bad.refresh_from_db()
    good.refresh_from_db()
    assert (run.stored, run.failed) == (1, 1)
    assert good.picture_key
    assert not bad.picture_key
    assert bad.picture_attempts == 1
    assert bad.picture_retry_at is not None
    assert f"picture of album {bad.pk} refused (127.0.0.1:" in caplog.text
    assert reason in caplog.text
    assert len(list(pictures_dir.iterdir())) == 2  # only the good one's two sizes


@pytest.mark.parametrize("path", ["/500", "/slow"])
def test_an_outage_stops_the_run(host: str, path: str) -> None:
    down, later = album(f"{host}{path}"), album(f"{host}/ok.png")
    run = pictures.pictures_fetch_missing()
    down.refresh_from_db()
    later.refresh_from_db()
    assert run.stopped_by
    assert run.stored == 0
    assert down.picture_attempts == 1
    assert later.picture_attempts == 0
    assert not later.picture_key


def test_a_429_stops_this_run_and_the_next_until_retry_after(host: str) -> None:
    limited, later = album(f"{host}/429"), album(f"{host}/ok.png")
    assert pictures.pictures_fetch_missing().stopped_by == "429, retry after 120 s"
    assert pictures.pictures_fetch_missing().stopped_by == "rate limited"  # no request made
    limited.refresh_from_db()
    later.refresh_from_db()
    assert limited.picture_attempts == 0
    assert not later.picture_key
    cache.delete(pictures.PAUSED_KEY)  # Retry-After has passed
    Album.objects.filter(pk=limited.pk).update(image_url=f"{host}/other.png")
    assert pictures.pictures_fetch_missing().stored == 2


def test_a_broken_url_is_given_up_after_max_attempts(settings: Settings, host: str) -> None:
    settings.PICTURES_MAX_ATTEMPTS = 3
    broken = album(f"{host}/missing")
    waits = []
    for _ in range(5):
        pictures.pictures_fetch_missing()
        broken.refresh_from_db()
        if broken.picture_retry_at:
            waits.append(broken.picture_retry_at)
        # Not retried before its time: the next run finds nothing due.
        assert pictures.pictures_fetch_missing().failed == 0
        Album.objects.filter(pk=broken.pk).update(picture_retry_at=None)  # time passes
    assert broken.picture_attempts == 3
    assert len(waits) == 3  # tried three times, then never again


def test_the_command_runs_the_same_worker(host: str) -> None:
    entity = ArtistFactory.create(image_url=f"{host}/ok.png")
    out = io.StringIO()
    call_command("fetch_pictures", stdout=out)
    entity.refresh_from_db()
    assert entity.picture_key
    assert out.getvalue().strip() == "1 pictures stored, 0 failed"


def test_a_stored_picture_is_served_with_long_cache_headers(
    client: Client, alice: User, host: str
) -> None:
    entity = album(f"{host}/ok.png")
    pictures.pictures_fetch_missing()
    entity.refresh_from_db()
    url = pictures.picture_url(entity.picture_key, 64)
    client.force_login(alice)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["ETag"] == f'"{entity.picture_key}-64"'
    assert Image.open(io.BytesIO(response.content)).size == (64, 51)
    assert client.get(url, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304


def test_pictures_need_sign_in(client: Client, host: str) -> None:
    entity = album(f"{host}/ok.png")
    pictures.pictures_fetch_missing()
    entity.refresh_from_db()
    response = client.get(pictures.picture_url(entity.picture_key, 300))
    assert response.status_code == 302
    assert "/login" in response["Location"]


@pytest.mark.parametrize(
    "path",
    [
        "/pictures/" + "0" * 40 + "/64.jpg",  # unknown key
        "/pictures/" + "0" * 40 + "/160.jpg",  # not a stored size
        "/pictures/..%2F..%2Fsecret/64.jpg",
        "/pictures/ABC/64.jpg",
    ],
)
def test_unknown_pictures_are_404(client: Client, alice: User, path: str) -> None:
    client.force_login(alice)
    assert client.get(path).status_code == 404


def test_a_metadata_run_that_found_something_queues_a_pictures_run(
    alice: User, spotify: Sim, django_capture_on_commit_callbacks: Any
) -> None:
    from scrobbler import tasks

    account = sim_linked_account(alice, spotify, "alice-sp", poll_mode=PollMode.HISTORY)
    polling.poll_accounts([account.pk], force=True)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        assert tasks.fetch_metadata() > 0
    assert len(queued) == 1  # Celery is eager in tests: the pictures run has happened
    assert Album.objects.exclude(picture_key="").exists()
