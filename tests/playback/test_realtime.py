"""Playback events: one per control, after commit, to the user's own devices only; idempotent
retries; the SSE stream over the real web server and the WebSocket through the ASGI application."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth.hashers import make_password
from django.test import Client

from playback import events
from playback.models import PlaybackSession
from scrobbler.models import Track, User
from tests.conftest import PASSWORD
from tests.factories import TrackFactory, UserFactory
from tests.playback.test_sessions import in_library
from tests.processes import (
    csrf_token,
    free_port,
    process_env,
    running,
    sign_in,
    wait_healthy,
    web_command,
    web_server,
)


def post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


@pytest.mark.django_db
def test_each_control_publishes_one_event_after_commit(
    alice: User, sent: list[Any], django_capture_on_commit_callbacks: Any
):
    track = in_library(TrackFactory.create())
    client = Client()
    client.force_login(alice)
    post(client, "/api/devices", {"id": "laptop-0001", "name": "Laptop"})
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post(
            client, "/api/sessions/me/play", {"device": "laptop-0001", "track": track.pk}
        )
        assert sent == []  # nothing before the commit
    for callback in callbacks:
        callback()
    rev = response.json()["rev"]
    assert [(user_id, e["rev"], e["type"]) for user_id, e in sent] == [(alice.pk, rev, "timeline")]

    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        post(client, "/api/sessions/me/speaker", {"device": "laptop-0001"})
        post(client, "/api/sessions/me/seek", {"device": "laptop-0001", "position_ms": "x"})
    assert [e["type"] for _, e in sent] == ["speaker"]  # the refused seek published nothing


@pytest.mark.django_db
def test_a_retried_control_is_applied_once(
    alice: User, sent: list[Any], django_capture_on_commit_callbacks: Any
):
    track = in_library(TrackFactory.create())
    client = Client()
    client.force_login(alice)
    post(client, "/api/devices", {"id": "laptop-0001", "name": "Laptop"})
    post(client, "/api/sessions/me/play", {"device": "laptop-0001", "track": track.pk})
    sent.clear()
    seek = {"device": "laptop-0001", "position_ms": 50_000, "event_id": "evt-000000000001"}
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, "/api/sessions/me/seek", seek).json()
        # Playback moves on; then the retry of the same seek arrives.
        post(client, "/api/sessions/me/pause", {"device": "laptop-0001"})
        paused = PlaybackSession.objects.get(user=alice)
        again = post(client, "/api/sessions/me/seek", seek)
    assert again.status_code == 200
    assert again.json()["rev"] == first["rev"] + 1  # the pause's, nothing after it
    assert PlaybackSession.objects.get(user=alice).position_ms == paused.position_ms
    assert len(sent) == 2
    # Ids are per user: bob may use the same one.
    bob = UserFactory.create(username="bob")
    client.force_login(bob)
    post(client, "/api/devices", {"id": "bob-phone-01", "name": "Phone"})
    bob_seek = {"device": "bob-phone-01", "event_id": "evt-000000000001"}
    assert post(client, "/api/sessions/me/pause", bob_seek).status_code == 200


@pytest.mark.django_db
def test_the_websocket_sends_the_snapshot_then_the_users_own_events(alice: User, bob: User):
    from config.asgi import application

    track = in_library(TrackFactory.create())
    alice_client, bob_client = Client(), Client()
    alice_client.force_login(alice)
    bob_client.force_login(bob)
    post(alice_client, "/api/devices", {"id": "laptop-0001", "name": "Laptop"})

    def connect(client: Client, origin: str = "http://localhost") -> WebsocketCommunicator:
        cookie = f"sessionid={client.cookies['sessionid'].value}"
        return WebsocketCommunicator(
            application,
            "/ws/playback",
            headers=[(b"cookie", cookie.encode()), (b"origin", origin.encode())],
        )

    async def scenario() -> None:
        alice_ws, bob_ws = connect(alice_client), connect(bob_client)
        assert (await alice_ws.connect())[0]
        assert (await bob_ws.connect())[0]
        snapshot = await alice_ws.receive_json_from()
        assert snapshot["event"] == "snapshot"
        assert snapshot["data"]["devices"][0]["id"] == "laptop-0001"
        await bob_ws.receive_json_from()  # bob's own snapshot
        # The control's event goes out on commit; test transactions never commit, so the
        # test sends it as the commit would.
        await events.async_send(alice.pk, {"rev": 7, "type": "timeline", "ts": 1})
        change = await alice_ws.receive_json_from()
        assert change == {"event": "change", "data": {"rev": 7, "type": "timeline", "ts": 1}}
        assert await bob_ws.receive_nothing(timeout=0.3)
        await alice_ws.disconnect()
        await bob_ws.disconnect()

        anonymous = WebsocketCommunicator(
            application, "/ws/playback", headers=[(b"origin", b"http://localhost")]
        )
        connected, code = await anonymous.connect()
        assert not connected or code == 4403
        foreign = connect(alice_client, origin="https://evil.example")
        assert not (await foreign.connect())[0]
        # Let the refused connections' consumers finish, as a server does when the socket
        # closes (left running, they are cancelled all at once when the loop closes).
        await anonymous.disconnect()
        await foreign.disconnect()

    async_to_sync(scenario)()
    assert track.pk  # the library track made the snapshot realistic


# --- SSE over a real server ----------------------------------------------------------------------


class SseReader:
    """Reads an event stream in a thread, collecting (event, data) pairs."""

    def __init__(self, client: httpx.Client) -> None:
        self.events: list[tuple[str, Any]] = []
        self.headers: httpx.Headers | None = None
        self._client = client
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with self._client.stream("GET", "/events", timeout=httpx.Timeout(5, read=30)) as r:
                self.headers = r.headers
                name = ""
                for line in r.iter_lines():
                    if line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: "):
                        self.events.append((name, json.loads(line[6:])))
        except httpx.HTTPError:
            pass

    def wait_for(self, count: int, timeout: float = 10) -> list[tuple[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.events) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.events


@pytest.fixture
def server(transactional_db: None, tmp_path: Path, static_root: Path) -> Iterator[str]:
    # After the test database exists: the server is pointed at it.
    with web_server(process_env(tmp_path, static_root), tmp_path / "web.log") as base:
        yield base


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_sse_follows_the_users_playback_and_nobody_elses(server: str):
    # Password hashes the real server (default hashers) can check.
    hashed = make_password(PASSWORD, hasher="pbkdf2_sha256")
    alice = User.objects.create(username="alice", password=hashed)
    User.objects.create(username="bob", password=hashed)
    track: Track = in_library(TrackFactory.create())
    laptop, phone = sign_in(server, "alice", PASSWORD), sign_in(server, "alice", PASSWORD)
    bob = sign_in(server, "bob", PASSWORD)

    def control(client: httpx.Client, url: str, body: dict[str, Any]) -> httpx.Response:
        client.get("/settings/")  # a page sets the CSRF cookie
        return client.post(url, json=body, headers={"X-CSRFToken": csrf_token(client)})

    assert control(laptop, "/api/devices", {"id": "laptop-0001", "name": "Laptop"}).is_success
    phone_stream, bob_stream = SseReader(phone), SseReader(bob)
    [(kind, snapshot)] = phone_stream.wait_for(1)
    assert kind == "snapshot"
    assert snapshot["devices"][0]["name"] == "Laptop"
    assert phone_stream.headers is not None
    assert phone_stream.headers["content-type"].startswith("text/event-stream")
    assert phone_stream.headers["cache-control"] == "no-store"
    assert phone_stream.headers["x-accel-buffering"] == "no"
    bob_stream.wait_for(1)

    started = time.monotonic()
    played = control(laptop, "/api/sessions/me/play", {"device": "laptop-0001", "track": track.pk})
    assert played.is_success, played.text
    events_seen = phone_stream.wait_for(2)
    assert time.monotonic() - started < 2
    assert events_seen[1][0] == "change"
    assert events_seen[1][1]["rev"] == played.json()["rev"]
    assert events_seen[1][1]["type"] == "timeline"
    time.sleep(0.5)
    assert [kind for kind, _ in bob_stream.events] == ["snapshot"]  # bob hears nothing of it
    assert PlaybackSession.objects.get(user=alice).state == "playing"

    anonymous = httpx.get(f"{server}/events", timeout=5)
    assert anonymous.status_code == 403
    for client in (laptop, phone, bob):
        client.close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_open_event_streams_and_websockets_do_not_hold_up_a_shutdown(
    tmp_path: Path, static_root: Path
):
    """They never end by themselves: on SIGTERM the server closes WebSockets with 1012 (service
    restart: the player reconnects) and cuts event streams after its graceful-shutdown timeout,
    where it would otherwise wait for them forever."""
    User.objects.create(username="alice", password=make_password(PASSWORD, hasher="pbkdf2_sha256"))
    port = free_port()
    base, log = f"http://127.0.0.1:{port}", tmp_path / "web.log"
    command = web_command(port)
    grace = float(command[command.index("--timeout-graceful-shutdown") + 1])
    with running(command, env=process_env(tmp_path, static_root), log=log) as server:
        wait_healthy(server, base, log)
        client = sign_in(base, "alice", PASSWORD)
        stream = SseReader(client)
        assert stream.wait_for(1), log.read_text()

        async def stop_while_connected() -> tuple[int | None, float]:
            cookies = {"sessionid": client.cookies["sessionid"]}
            async with (
                aiohttp.ClientSession(cookies=cookies) as http,
                http.ws_connect(f"{base}/ws/playback", headers={"Origin": base}) as ws,
            ):
                assert (await ws.receive_json(timeout=10))["event"] == "snapshot"
                server.send_signal(signal.SIGTERM)
                stopped = time.monotonic()
                closing = await ws.receive(timeout=grace + 5)
                assert closing.type == aiohttp.WSMsgType.CLOSE, closing
                return ws.close_code, stopped

        close_code, stopped = asyncio.run(stop_while_connected())
        server.wait(timeout=grace + 5)
        took = time.monotonic() - stopped
        stream._thread.join(timeout=5)
        client.close()
    assert close_code == 1012
    assert not stream._thread.is_alive()  # the stream was cut
    assert took < grace + 2, log.read_text()
    assert "/ws/playback" not in log.read_text()  # no line per connection, with its address


@pytest.mark.django_db
def test_old_control_ids_are_forgotten(alice: User):
    from datetime import timedelta

    from django.utils import timezone

    from playback.models import ControlRequest
    from playback.tasks import housekeeping

    old = ControlRequest.objects.create(user=alice, event_id="evt-old-000001")
    ControlRequest.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))
    ControlRequest.objects.create(user=alice, event_id="evt-new-000001")
    assert housekeeping() == 1
    assert list(ControlRequest.objects.values_list("event_id", flat=True)) == ["evt-new-000001"]


def test_an_event_stream_whose_channel_layer_fails_ends_so_the_client_reconnects(
    monkeypatch: pytest.MonkeyPatch,
):
    """Else the stream would live on with heartbeats only: a device deaf to every change."""
    import asyncio

    from playback import consumers

    class FailingLayer:
        async def receive(self, channel: str) -> dict[str, Any]:
            raise TimeoutError("Timeout reading from Redis")

    monkeypatch.setattr(consumers, "get_channel_layer", lambda: FailingLayer())

    async def scenario() -> bool:
        latest = consumers.Latest()
        await consumers._follow("specific.x!y", latest)
        await asyncio.wait_for(latest.take(timeout=5), timeout=1)  # wakes at once
        return latest.broken

    assert asyncio.run(scenario())


def test_a_follower_waiting_through_a_quiet_spell_keeps_its_channel_layer():
    """channels-redis waits for messages in 5-second blocking pops: a device with nothing to hear
    for longer must go on waiting, not lose the layer (redis-py's default 5 s read timeout once
    failed every such wait, so quiet players reconnected every few seconds)."""
    layer = get_channel_layer()
    assert layer is not None

    async def scenario() -> dict[str, Any]:
        channel = await layer.new_channel()
        await layer.group_add("user.quiet-test", channel)

        async def later() -> None:
            await asyncio.sleep(6.5)
            await layer.group_send(
                "user.quiet-test",
                {"type": "playback.event", "event": {"rev": 1, "type": "timeline", "ts": 1}},
            )

        sender = asyncio.create_task(later())
        try:
            return await asyncio.wait_for(layer.receive(channel), timeout=15)
        finally:
            await sender
            await layer.group_discard("user.quiet-test", channel)

    assert async_to_sync(scenario)()["event"]["rev"] == 1
