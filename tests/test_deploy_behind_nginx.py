"""Debian's nginx in front of the real web server serving config.asgi, as deployed: with the site
file (deploy/nginx/encore.conf) and with the Compose stack's (deploy/nginx/compose.conf). Realtime
events reach a device promptly over SSE and over a WebSocket upgraded through nginx, and audio
leaves nginx by X-Accel-Redirect (MEDIA_ACCEL=nginx) with byte-exact ranges."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import httpx
import pytest

from tests.conftest import PASSWORD
from tests.deploy import NGINX, certificate, compose_nginx_render, nginx_start, site_nginx_render
from tests.playback.flac import flac_write
from tests.playback.test_media_http import catalogued, member
from tests.playback.test_realtime import SseReader
from tests.processes import csrf_token, free_port, process_env, web_process

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        NGINX is None, reason="nginx is not installed (Debian: apt-get install nginx)"
    ),
]

# Needs quoting in X-Accel-Redirect: spaces, a percent sign, a question mark, a hash, accents.
TRACK_NAME = "Björk & Friends/50% Who? #1.flac"
DEVICE = "laptop-0001"


@dataclass(frozen=True)
class Proxy:
    base: str  # https://127.0.0.1:port
    trust: ssl.SSLContext
    access_log: Path
    upstream_pid: int  # the web server's


@pytest.fixture(params=["encore.conf", "compose.conf"])
def proxy(
    request: pytest.FixtureRequest, tmp_path: Path, static_root: Path, music: Path
) -> Iterator[Proxy]:
    """The web server (MEDIA_ACCEL=nginx) behind nginx with one of deploy/nginx/'s configs, over
    TLS."""
    env = process_env(tmp_path, static_root, MUSIC_ROOT=str(music), MEDIA_ACCEL="nginx")
    env.pop("REDIS_URL", None)  # one web process: the in-memory realtime layer suffices
    with web_process(env, tmp_path / "web.log") as (web, upstream):
        prefix = tmp_path / "nginx"
        prefix.mkdir()
        http_port, https_port = free_port(), free_port()
        cert, key = certificate(tmp_path)
        render = site_nginx_render if request.param == "encore.conf" else compose_nginx_render
        conf = render(
            prefix=prefix,
            upstream=upstream.removeprefix("http://"),
            http_port=http_port,
            https_port=https_port,
            certificate=(cert, key),
            static_root=static_root,
            music_root=music,
        )
        proc = nginx_start(conf, prefix, https_port)
        try:
            trust = ssl.create_default_context(cafile=cert)
            yield Proxy(f"https://127.0.0.1:{https_port}", trust, prefix / "access.log", web.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


@pytest.fixture
def music(tmp_path: Path) -> Path:
    root = tmp_path / "music"
    (root / os.path.dirname(TRACK_NAME)).mkdir(parents=True)
    flac_write(tmp_path / "song.flac", seconds=5, seed=3).rename(root / TRACK_NAME)
    return root


def signed_in(proxy: Proxy, username: str) -> httpx.Client:
    """A client signed in through nginx with the real sign-in form, CSRF cookie set."""
    client = httpx.Client(base_url=proxy.base, verify=proxy.trust, timeout=10)
    page = client.get("/accounts/login/")
    response = client.post(
        "/accounts/login/",
        data={
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": csrf_token(client),
        },
    )
    assert response.status_code == 302, (page.status_code, response.text)
    client.get("/settings/")  # a page: the CSRF cookie for the API
    return client


def control(client: httpx.Client, url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(url, json=body, headers={"X-CSRFToken": csrf_token(client)})
    assert response.is_success, response.text
    result: dict[str, Any] = response.json()
    return result


async def websocket_events(proxy: Proxy, session_id: str, count: int) -> list[dict[str, Any]]:
    """The first `count` messages of /ws/playback, through nginx."""
    messages: list[dict[str, Any]] = []
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(
            f"wss://{proxy.base.removeprefix('https://')}/ws/playback",
            ssl=proxy.trust,
            headers={"Origin": proxy.base, "Cookie": f"sessionid={session_id}"},
            timeout=aiohttp.ClientWSTimeout(ws_receive=10),
        ) as ws,
    ):
        while len(messages) < count:
            messages.append(await ws.receive_json(timeout=10))
    return messages


def test_realtime_and_media_through_nginx(proxy: Proxy, music: Path) -> None:
    alice = member("alice")
    track = catalogued(TRACK_NAME.encode(), root=music)
    client = signed_in(proxy, alice.username)
    control(client, "/api/devices", {"id": DEVICE, "name": "Laptop"})

    # SSE: the snapshot, then a change published after the stream was opened, promptly.
    stream = SseReader(client)
    [(kind, _)] = stream.wait_for(1)
    assert kind == "snapshot"
    assert stream.headers is not None
    assert stream.headers["content-type"].startswith("text/event-stream")
    sent = time.monotonic()
    speaker = control(client, "/api/sessions/me/speaker", {"device": DEVICE})
    events = stream.wait_for(2, timeout=5)
    assert time.monotonic() - sent < 2, "the event was held back on the way"
    assert events[1] == ("change", {"rev": speaker["rev"], "type": "speaker", "ts": events[1][1]["ts"]})  # fmt: skip

    # WebSocket: upgraded through nginx, the snapshot, then a change.
    async def follow_and_play() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        listening = asyncio.create_task(
            websocket_events(proxy, client.cookies["sessionid"], count=2)
        )
        await asyncio.sleep(1)  # connected and snapshot sent
        played = await asyncio.to_thread(
            control, client, "/api/sessions/me/play", {"device": DEVICE, "track": track.pk}
        )
        return await listening, played

    (snapshot, change), played = asyncio.run(follow_and_play())
    assert snapshot["event"] == "snapshot"
    assert snapshot["data"]["devices"][0]["id"] == DEVICE
    assert change["event"] == "change"
    assert change["data"]["rev"] == played["rev"]
    assert change["data"]["type"] == "timeline"

    # Media: the speaker's URL, bytes sent by nginx, ranges exact.
    url = control(client, "/api/media/tokens", {"device": DEVICE, "track": track.pk})["url"]
    data = (music / TRACK_NAME).read_bytes()
    size = len(data)
    whole = client.get(url)
    assert whole.status_code == 200
    assert whole.content == data
    for header, start, end in [
        (f"bytes=100-{size // 2}", 100, size // 2),
        (f"bytes={size - 1000}-", size - 1000, size - 1),
        ("bytes=-300", size - 300, size - 1),
    ]:
        part = client.get(url, headers={"Range": header})
        assert part.status_code == 206, header
        assert part.content == data[start : end + 1], header
        assert part.headers["content-range"] == f"bytes {start}-{end}/{size}"
    for response in (whole, part):
        assert response.headers["content-type"] == "audio/flac"
        assert response.headers.get_list("cache-control") == ["no-store"]
        assert response.headers.get_list("x-content-type-options") == ["nosniff"]
    refused = client.get(url.replace("token=", "token=x"))
    assert refused.status_code == 403
    assert client.get("/internal-media/" + quote(TRACK_NAME)).status_code == 404  # internal only
    client.close()

    token = url.split("token=")[1]
    log = proxy.access_log.read_text()
    assert f"GET /media/tracks/{track.pk} HTTP/1.1" in log
    assert token not in log


def refused_unread(proxy: Proxy, path: str, length: int) -> tuple[int, int]:
    """POSTs `length` bytes to `path`, sending the headers first and the body only once the
    answer has come; the status, and the bytes the web server read meanwhile."""

    def rchar() -> int:
        match = re.search(
            r"^rchar: (\d+)$", Path(f"/proc/{proxy.upstream_pid}/io").read_text(), re.M
        )
        assert match
        return int(match[1])

    before = rchar()
    host, port = proxy.base.removeprefix("https://").split(":")
    raw = socket.create_connection((host, int(port)), timeout=5)
    with proxy.trust.wrap_socket(raw, server_hostname=host) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {length}\r\n\r\n"
        sock.sendall(head.encode())
        answer = sock.recv(65536)  # before any of the body: refused from the headers alone
        with suppress(OSError):
            for _ in range(length // 65536):
                sock.sendall(b"x" * 65536)
    return int(answer.split(b" ", 2)[1]), rchar() - before


def test_bodies_past_the_limits_are_refused_before_the_web_server_reads_them(
    proxy: Proxy,
) -> None:
    # nginx's own 1 MB limit everywhere but the upload page.
    assert refused_unread(proxy, "/healthz", 2 * 2**20)[0] == 413
    # On the upload page nginx allows 1 GiB, passes the body on as it arrives and Encore refuses
    # it from the headers (nobody is signed in): nginx neither takes nor stores it first.
    status, read = refused_unread(proxy, "/imports/", 48 * 2**20)
    assert status == 413
    assert read < 512 * 1024
