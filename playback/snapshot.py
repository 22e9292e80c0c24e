"""The playback snapshot: everything a device shows, in one JSON object (GET /api/sessions/me,
and the first message of /events and /ws/playback)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from playback.covers import cover_url
from playback.models import Device, LibraryFile, PlaybackSession, QueueItem
from playback.queue import play_order
from playback.sessions import ONLINE_SECONDS, position_at, session_get
from scrobbler.epoch import ms_of
from scrobbler.models import Track, TrackLike

# Upcoming queue entries a snapshot lists (the queue panel pages through the rest).
QUEUE_SHOWN = 100
COVER_PLAYER_SIZE = 160


def _tracks(track_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Track summaries for the player, by id, in a few queries whatever their number."""
    tracks = Track.objects.filter(pk__in=track_ids).select_related("album")
    tracks = tracks.prefetch_related("artists")
    covers = dict(
        LibraryFile.objects.filter(track_id__in=track_ids)
        .exclude(cover_key="")
        .values_list("track_id", "cover_key")
    )
    return {
        t.pk: {
            "id": t.pk,
            "name": t.name,
            "artists": [artist.name for artist in t.artists.all()],
            "album": t.album.name if t.album else "",
            "album_id": t.album_id,
            "duration_ms": t.duration_ms,
            "cover": cover_url(covers[t.pk], COVER_PLAYER_SIZE) if t.pk in covers else "",
        }
        for t in tracks
    }


def session_snapshot(*, user_id: int) -> dict[str, Any]:
    """The session as every device shows it; `position_ms` is projected to `server_time`."""
    with_related = PlaybackSession.objects.select_related("active_device", "track")
    session = with_related.filter(user_id=user_id).first()
    if session is None:  # a user who never played anything
        session = with_related.get(pk=session_get(user_id=user_id).pk)
    now = timezone.now()
    online_since = now - timedelta(seconds=ONLINE_SECONDS)
    order = play_order(session)
    at = order.index(session.current_item_id) + 1 if session.current_item_id in order else 0
    upcoming = order[at : at + QUEUE_SHOWN]
    items = dict(QueueItem.objects.filter(pk__in=upcoming).values_list("pk", "track_id"))
    wanted = [*items.values(), *([session.track_id] if session.track_id else [])]
    tracks = _tracks(wanted)
    liked = session.track_id is not None and (
        TrackLike.objects.filter(user_id=user_id, track_id=session.track_id).exists()
    )
    return {
        "rev": session.revision,
        "state": session.state,
        "position_ms": position_at(session, now),
        "server_time": ms_of(now),
        "shuffle": session.shuffle,
        "repeat": session.repeat,
        "active_device": session.active_device.client_id if session.active_device else None,
        "devices": [
            {
                "id": d.client_id,
                "name": d.name,
                "platform": d.platform,
                "online": d.last_seen >= online_since,
            }
            for d in Device.objects.filter(user_id=user_id).order_by("name", "pk")
        ],
        "track": tracks.get(session.track_id) if session.track_id else None,
        "liked": liked,
        "queue": {
            "current": session.current_item_id,
            "length": len(order),
            "upcoming": [
                {"id": pk, "track": tracks[items[pk]]}
                for pk in upcoming
                if pk in items and items[pk] in tracks
            ],
        },
    }
