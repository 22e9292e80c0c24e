"""Tokens and secrets never reach the logs or the pages, whatever happens along the way."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import logging.config
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from pytest_django import Settings

from imports.models import Import
from playback.models import LibraryFile
from scrobbler import polling
from scrobbler.models import SpotifyAccount, Track, User
from scrobbler.spotify import accounts, crypto
from tests.conftest import PASSWORD
from tests.imports.importing import extended_listen
from tests.playback.flac import flac_write
from tests.processes import process_env, web_server
from tests.scrobbler.spotify_helpers import finish_link, start_link
from tests.spotify_sim.conftest import Sim

pytestmark = pytest.mark.django_db

CLIENT_SECRET = "client-secret-that-must-never-be-logged"


def test_a_full_flow_at_debug_level_logs_no_token_or_secret(
    client: Client,
    alice: User,
    sim: Sim,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings.SPOTIFY_API_BASE_URL = sim.api
    settings.SPOTIFY_ACCOUNTS_BASE_URL = sim.accounts
    settings.SPOTIFY_CLIENT_SECRET = CLIENT_SECRET
    caplog.set_level(logging.DEBUG)  # every logger, urllib3's request lines included
    client.force_login(alice)
    secrets = {CLIENT_SECRET}
    pages = []

    pages.append(finish_link(client, start_link(client, sim, "alice-sp")))
    account = SpotifyAccount.objects.get(user=alice)
    secrets |= {
        crypto.decrypt(account.access_token_encrypted),
        crypto.decrypt(account.refresh_token_encrypted),
    }

    sim.account("alice-sp", options={"rotate_refresh_tokens": True})
    SpotifyAccount.objects.filter(pk=account.pk).update(access_token_expires_at=timezone.now())
    polling.poll_accounts([account.pk], force=True)  # refresh with rotation, then both endpoints
    account.refresh_from_db()
    secrets |= {
        crypto.decrypt(account.access_token_encrypted),
        crypto.decrypt(account.refresh_token_encrypted),
    }

    sim.fault(kind="rate_limit", endpoint="v1/*", count=1)
    sim.fault(kind="error", status=502, endpoint="v1/*", body="html", count=1)
    polling.poll_accounts([account.pk], force=True)
    polling.poll_accounts([account.pk], force=True)
    sim.control("POST", "accounts/alice-sp/revoke")
    SpotifyAccount.objects.filter(pk=account.pk).update(access_token_expires_at=timezone.now())
    polling.poll_accounts([account.pk], force=True)  # invalid_grant
    account.refresh_from_db()
    assert account.status == SpotifyAccount.Status.NEEDS_RELINK

    pages.append(client.get("/spotify/").content.decode())
    pages.append(client.get("/").content.decode())
    pages.append(client.get("/recent/").content.decode())
    everything = caplog.text + "".join(pages) + account.status_detail + account.last_error
    assert "HTTP" in caplog.text or "GET" in caplog.text  # the requests really were logged
    for secret in secrets:
        assert secret not in everything
    assert accounts.SESSION_KEY not in everything


# --- the whole product at DEBUG, every log line captured ------------------------------------------

# Loggers raised to DEBUG for the flow, besides the root: libraries that log requests.
CHATTY = ("django", "celery", "urllib3", "requests", "spotipy", "spotipy.client", "httpx")


@pytest.fixture
def every_log_line(settings: Settings) -> Iterator[tuple[list[tuple[str, str]], io.StringIO]]:
    """Every record as logged (logger name and text, before any redaction by our handler), and
    the project's own console output (LOGGING's handler, JSON), with the root and CHATTY loggers
    at DEBUG."""
    out = io.StringIO()
    config: dict[str, Any] = {**settings.LOGGING}
    config["handlers"] = {
        "console": {**config["handlers"]["console"], "formatter": "json", "stream": out}
    }
    config["root"] = {**config["root"], "level": "DEBUG"}
    root = logging.getLogger()
    saved_handlers = root.handlers[:]
    saved_levels = {name: logging.getLogger(name).level for name in CHATTY}
    logging.config.dictConfig(config)
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.DEBUG)

    records: list[tuple[str, str]] = []

    class Raw(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append((record.name, logging.Formatter().format(record)))

    root.handlers.insert(0, Raw(logging.DEBUG))  # first: it sees each record as it was logged
    try:
        yield records, out
    finally:
        logging.config.dictConfig(settings.LOGGING)
        root.handlers[:] = saved_handlers
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)  # the web server process must see the test's rows
def test_oauth_poll_import_and_playback_at_debug_leave_no_secret_in_any_log(
    alice: User,
    sim: Sim,
    settings: Settings,
    tmp_path: Path,
    static_root: Path,
    every_log_line: tuple[list[tuple[str, str]], io.StringIO],
    django_capture_on_commit_callbacks: Any,
) -> None:
    records, output = every_log_line
    settings.SPOTIFY_API_BASE_URL = sim.api
    settings.SPOTIFY_ACCOUNTS_BASE_URL = sim.accounts
    settings.SPOTIFY_CLIENT_SECRET = CLIENT_SECRET
    settings.IMPORT_DIR = tmp_path / "imports"
    settings.MUSIC_ROOT = tmp_path / "music"
    secrets = {CLIENT_SECRET, PASSWORD, settings.SECRET_KEY}

    # Sign in with the password, as a person does.
    alice.set_password(PASSWORD)
    alice.save()
    client = Client()
    assert client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}).status_code
    secrets.add(client.cookies["sessionid"].value)

    # OAuth: the authorization code, PKCE verifier and state, then the tokens.
    params = start_link(client, sim, "alice-sp")
    secrets |= {params["code"], params["state"]}
    secrets.add(client.session[accounts.SESSION_KEY]["verifier"])
    finish_link(client, params)
    account = SpotifyAccount.objects.get(user=alice)
    secrets |= {
        crypto.decrypt(account.access_token_encrypted),
        crypto.decrypt(account.refresh_token_encrypted),
        account.access_token_encrypted,
        account.refresh_token_encrypted,
    }

    # Polls: a refresh with rotation, both endpoints, a failure.
    sim.account("alice-sp", options={"rotate_refresh_tokens": True})
    sim.advance(600)
    SpotifyAccount.objects.filter(pk=account.pk).update(access_token_expires_at=timezone.now())
    polling.poll_accounts([account.pk], force=True)
    sim.fault(kind="error", status=502, endpoint="v1/*", body="html", count=1)
    polling.poll_accounts([account.pk], force=True)
    account.refresh_from_db()
    secrets |= {
        crypto.decrypt(account.access_token_encrypted),
        crypto.decrypt(account.refresh_token_encrypted),
    }

    # An import of a small export, through the pages.
    export = json.dumps([extended_listen("2024-03-01T10:00:40Z")]).encode()
    with django_capture_on_commit_callbacks(execute=True):
        uploaded = client.post(
            "/imports/", {"files": SimpleUploadedFile("Streaming_History_Audio_2024.json", export)}
        )
    imp = Import.objects.get(user=alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/imports/{imp.public_id}/confirm")
    imp.refresh_from_db()
    assert uploaded.status_code == 302
    assert imp.status == Import.Status.DONE, imp.error

    # Playback: a track in the library, a speaker, a media token minted and used (and misused).
    track = Track.objects.get(uri="spotify:track:" + "A" * 22)
    flac_write(settings.MUSIC_ROOT / "song.flac", seconds=1.0)
    LibraryFile.objects.create(
        path=b"song.flac",
        path_key=hashlib.sha1(b"song.flac").hexdigest(),  # noqa: S324 - a key, not security
        display_path="song.flac",
        size=(settings.MUSIC_ROOT / "song.flac").stat().st_size,
        mtime_ns=0,
        track=track,
        scanned_at=timezone.now(),
    )

    def api(url: str, body: dict[str, object]) -> Any:
        return client.post(url, json.dumps(body), content_type="application/json")

    api("/api/devices", {"id": "laptop-0001", "name": "Laptop"})
    played = api("/api/sessions/me/play", {"device": "laptop-0001", "track": track.pk})
    assert played.status_code == 200, played.content
    minted = api("/api/media/tokens", {"device": "laptop-0001", "track": track.pk})
    media_url = minted.json()["url"]
    secrets.add(unquote(media_url.split("token=", 1)[1]))
    secrets.add(media_url.split("token=", 1)[1])
    # Through Django (no media route there: only the ASGI app serves audio), a 404 it logs.
    assert client.get(media_url).status_code == 404
    # A forged callback: refused, and its code is no more loggable than a real one.
    secrets.add("forged-authorization-code")
    client.get("/spotify/callback", {"code": "forged-authorization-code", "state": "x" * 20})
    # Audio bytes are served by the ASGI app in front of Django: the real web server, run as the
    # Procfile runs it, logging at DEBUG as JSON into web.log.
    env = process_env(
        tmp_path,
        static_root,
        MUSIC_ROOT=str(settings.MUSIC_ROOT),
        LOG_LEVEL="DEBUG",
        LOG_FORMAT="json",
        SPOTIFY_CLIENT_SECRET=CLIENT_SECRET,
    )
    web_log = tmp_path / "web.log"
    session = {"sessionid": client.cookies["sessionid"].value}
    with (
        web_server(env, web_log) as base,
        httpx.Client(base_url=base, cookies=session, timeout=10) as browser,
    ):
        assert browser.get(media_url, headers={"Range": "bytes=0-99"}).status_code == 206
        assert httpx.get(base + media_url, timeout=10).status_code == 403  # no session
        wrong = f"/media/tracks/{track.pk + 1}?{media_url.split('?')[1]}"
        assert browser.get(wrong).status_code == 403
        assert browser.get("/recent/").status_code == 200
    client.post("/accounts/logout/")

    # httpx is not Encore's: it is this test's browser (driving the simulator's consent page),
    # whose DEBUG lines show the redirect back with the code. Only our handler's output has them.
    raw = "\n".join(text for name, text in records if not name.startswith(("httpx", "httpcore")))
    server_output = web_log.read_text()
    written = output.getvalue() + server_output
    # The flow really was logged, at DEBUG, by the libraries too.
    assert {"urllib3.connectionpool", "encore.access", "django.request"} <= {
        name for name, _ in records
    }
    assert "/spotify/callback" in written
    # Every line of the web server is JSON from our handler, uvicorn's own among them, and its
    # access log (whole URLs) is off: requests show in encore.access, by path.
    server_lines = [json.loads(line) for line in server_output.splitlines()]
    assert "uvicorn.error" in {line["logger"] for line in server_lines}
    assert "uvicorn.access" not in {line["logger"] for line in server_lines}
    assert ("encore.access", "/recent/") in {
        (line["logger"], line.get("path")) for line in server_lines
    }
    # spotipy logs each request's headers at DEBUG: redacted where it logs them.
    assert any(n == "spotipy.client" and "Bearer [redacted]" in text for n, text in records)
    for secret in secrets:
        assert secret not in raw, f"a secret reached a log record: {secret[:4]}…"
        assert secret not in written, f"a secret reached the log output: {secret[:4]}…"
