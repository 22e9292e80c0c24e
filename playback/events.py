"""Realtime playback events: one tiny message per change, to every device of the user.

Events only say that something changed and the session's new revision; a device whose revision
is behind fetches the snapshot (GET /api/sessions/me). So a lost or coalesced event costs one
fetch, never a wrong state."""

from __future__ import annotations

from typing import Literal, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from scrobbler.epoch import now_ms

EventType = Literal["timeline", "speaker", "queue", "like", "options", "devices"]
# The channel-layer message type: consumers handle it in `playback_event`.
MESSAGE_TYPE = "playback.event"


class Event(TypedDict):
    rev: int
    type: EventType
    ts: int


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def event_publish_on_commit(*, user_id: int, rev: int, type: EventType) -> None:
    """Tell the user's devices once the change is committed (never about a rolled-back one)."""
    event: Event = {"rev": rev, "type": type, "ts": now_ms()}
    transaction.on_commit(lambda: _send(user_id, event), robust=True)


def _send(user_id: int, event: Event) -> None:
    async_to_sync(async_send)(user_id, event)


async def async_send(user_id: int, event: Event) -> None:
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(user_group(user_id), {"type": MESSAGE_TYPE, "event": event})
