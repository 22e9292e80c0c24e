"""Devices following their user's playback in real time: Server-Sent Events at /events and a
WebSocket at /ws/playback. Both start with the session's snapshot, then pass on the user's
events (playback.events). A client that cannot keep up gets only the newest event (all an event
says is "revision N now": the newest one is worth all the others)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_GET

from ops.realtime import realtime_client_joined, realtime_client_left
from playback.events import Event, user_group
from playback.snapshot import session_snapshot

log = logging.getLogger(__name__)

# An SSE comment this often keeps proxies and browsers from timing the stream out.
HEARTBEAT_SECONDS = 15.0
# The snapshot, its database connection closed afterwards: a stream lasts hours and must not
# hold a connection all that time (a thousand players would hold a thousand).
_snapshot = database_sync_to_async(session_snapshot)


class Latest:
    """The newest event not yet sent: a slow client skips what it had no time to send.
    `broken` once events can no longer arrive (the channel layer failed)."""

    def __init__(self) -> None:
        self._event: Event | None = None
        self._ready = asyncio.Event()
        self.broken = False

    def break_off(self) -> None:
        self.broken = True
        self._ready.set()

    def put(self, event: Event) -> None:
        if self._event is None or event["rev"] >= self._event["rev"]:
            self._event = event
        self._ready.set()

    async def take(self, timeout: float) -> Event | None:
        """The newest event, waiting up to `timeout`; None if nothing came."""
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            return None
        self._ready.clear()
        event, self._event = self._event, None
        return event


async def _follow(channel: str, latest: Latest) -> None:
    layer = get_channel_layer()
    assert layer is not None
    try:
        while True:
            message = await layer.receive(channel)
            latest.put(message["event"])
    except Exception:  # Redis timed out or went away: no event would ever come again
        log.warning(
            "an event stream lost the channel layer; it ends so the client reconnects",
            exc_info=True,
        )
        latest.break_off()


def _sse(event: str, data: object) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


@require_GET
async def event_stream(request: HttpRequest) -> HttpResponseBase:
    """`text/event-stream` of the user's playback: `snapshot` first, then `change` events."""
    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponse("Sign in first.", status=403, content_type="text/plain")
    user_id = user.pk

    async def stream() -> AsyncIterator[bytes]:
        layer = get_channel_layer()
        assert layer is not None
        channel = await layer.new_channel()
        # Join before the snapshot: a change in between arrives as an event, never lost.
        await layer.group_add(user_group(user_id), channel)
        latest = Latest()
        follower = asyncio.create_task(_follow(channel, latest))
        await realtime_client_joined()
        try:
            yield b"retry: 2000\n\n"
            yield _sse("snapshot", await _snapshot(user_id=user_id))
            while True:
                event = await latest.take(HEARTBEAT_SECONDS)
                if latest.broken:
                    # EventSource reconnects (after `retry`) and starts from a fresh snapshot.
                    return
                yield _sse("change", event) if event is not None else b": ping\n\n"
        finally:
            follower.cancel()
            await realtime_client_left()
            await layer.group_discard(user_group(user_id), channel)

    response = StreamingHttpResponse(stream(), content_type="text/event-stream")
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # nginx passes each event on at once
    return response


class PlaybackConsumer(AsyncJsonWebsocketConsumer):
    """The same as /events over a WebSocket: `{"event": "snapshot", "data": …}` first, then
    `{"event": "change", "data": {rev, type, ts}}`."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4403)
            return
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await realtime_client_joined()
        snapshot = await _snapshot(user_id=user.pk)
        await self.send_json({"event": "snapshot", "data": snapshot})

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await realtime_client_left()
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def playback_event(self, message: dict[str, Any]) -> None:
        await self.send_json({"event": "change", "data": message["event"]})
