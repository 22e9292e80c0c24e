"""The play queue: what plays after what, with shuffle and repeat.

Entries keep the user's order (`QueueItem.position`). With shuffle on, the session holds a
permutation of the entries that starts with the one playing and stays put until shuffle is
switched on again; entries queued meanwhile are fitted in (after the current one for "play
next", at the end otherwise). Every function here is one control: one transaction, one revision,
one event (playback.sessions)."""

from __future__ import annotations

import random
from collections.abc import Sequence

from django.db import transaction
from django.db.models import F

from playback.models import LibraryFile, PlaybackSession, QueueItem
from playback.sessions import (
    Control,
    PlaybackError,
    State,
    listen_finish,
    session_begin,
    session_changed,
    timeline_advance,
    track_start,
)
from scrobbler.models import PlaylistItem, Track, TrackLike

MAX_QUEUE = 10_000
# "Previous" this far into a track starts it again instead.
RESTART_MS = 3_000
# An album's files in playing order; files without disc or track numbers last, on every database.
ALBUM_ORDER = (
    F("disc_number").asc(nulls_last=True),
    F("track_number").asc(nulls_last=True),
    "title",
    "pk",
)


def library_tracks(*, user_id: int, kind: str, item_id: int) -> list[int]:
    """Playable track ids of an album (disc and track order), an artist (by album), or one of
    the user's playlists (its order), in the order they should queue."""
    files = LibraryFile.objects.filter(error="", track__isnull=False)
    if kind == "album":
        files = files.filter(track__album_id=item_id)
    elif kind == "artist":
        files = files.filter(track__artists__id=item_id)
    elif kind == "playlist":
        order = PlaylistItem.objects.filter(
            playlist__user_id=user_id, playlist_id=item_id
        ).values_list("track_id", flat=True)
        playable = set(files.filter(track_id__in=order).values_list("track_id", flat=True))
        return [track_id for track_id in order if track_id in playable]
    else:
        raise PlaybackError(f"Cannot queue a {kind!r}.")
    ordered = files.order_by("track__album__name", *ALBUM_ORDER).values_list("track_id", flat=True)
    return list(dict.fromkeys(ordered))  # a track with several files queues once


def _playable(track_ids: Sequence[int]) -> list[Track]:
    found = Track.objects.in_bulk(
        LibraryFile.objects.filter(track_id__in=track_ids, error="").values_list(
            "track_id", flat=True
        )
    )
    tracks = [found[t] for t in track_ids if t in found]
    if not tracks:
        raise PlaybackError("None of those tracks is in the library.")
    return tracks


def play_order(session: PlaybackSession) -> list[int]:
    """Queue entry ids in the order they play."""
    ids = list(
        QueueItem.objects.filter(user_id=session.user_id)
        .order_by("position", "pk")
        .values_list("pk", flat=True)
    )
    if not session.shuffle:
        return ids
    present = set(ids)
    shuffled = [i for i in session.shuffle_order if i in present]
    seen = set(shuffled)
    return shuffled + [i for i in ids if i not in seen]


def _reshuffle(session: PlaybackSession, rng: random.Random) -> None:
    """A new permutation that starts with the entry playing."""
    ids = QueueItem.objects.filter(user_id=session.user_id).values_list("pk", flat=True)
    rest = [i for i in ids if i != session.current_item_id]
    rng.shuffle(rest)
    session.shuffle_order = ([session.current_item_id] if session.current_item_id else []) + rest


def _play_item(
    session: PlaybackSession, control: Control, item: QueueItem | None, position_ms: int = 0
) -> None:
    """Play a queue entry from its start; None ends playback (the listen is recorded)."""
    if item is None:
        listen_finish(session, control.now)
        session.state = State.STOPPED
        session.position_ms = 0
        return
    session.current_item = item
    track_start(session, control, item.track, position_ms)


def _neighbour(session: PlaybackSession, step: int, *, wrap: bool) -> QueueItem | None:
    order = play_order(session)
    if not order:
        return None
    index = order.index(session.current_item_id) + step if session.current_item_id in order else 0
    if not 0 <= index < len(order):
        if not wrap:
            return None
        index %= len(order)
    return QueueItem.objects.select_related("track").get(pk=order[index])


def _append(
    session: PlaybackSession, tracks: Sequence[Track], *, after_current: bool
) -> list[QueueItem]:
    user_id = session.user_id
    existing = QueueItem.objects.filter(user_id=user_id)
    if existing.count() + len(tracks) > MAX_QUEUE:
        raise PlaybackError(f"A queue holds at most {MAX_QUEUE:,} tracks.")
    current = session.current_item
    if after_current and current is not None:
        start = current.position + 1
        existing.filter(position__gte=start).update(position=F("position") + len(tracks))
    else:
        last = existing.order_by("-position").values_list("position", flat=True).first()
        start = 0 if last is None else last + 1
    items = QueueItem.objects.bulk_create(
        QueueItem(user_id=user_id, track=track, position=start + i)
        for i, track in enumerate(tracks)
    )
    if session.shuffle:
        new = [item.pk for item in items]
        order = list(session.shuffle_order)
        if after_current and session.current_item_id in order:
            at = order.index(session.current_item_id) + 1
            session.shuffle_order = order[:at] + new + order[at:]
        else:
            session.shuffle_order = order + new
    return items


@transaction.atomic
def queue_play(
    control: Control,
    *,
    track_ids: Sequence[int],
    start: int = 0,
    position_ms: int = 0,
    rng: random.Random | None = None,
) -> PlaybackSession:
    """Replace the queue with these tracks and play the one at `start` from `position_ms`."""
    tracks = _playable(track_ids)
    session = session_begin(control)
    timeline_advance(session, control.now)
    QueueItem.objects.filter(user_id=control.user_id).delete()
    session.current_item = None
    session.shuffle_order = []
    items = _append(session, tracks, after_current=False)
    _play_item(session, control, items[min(max(start, 0), len(items) - 1)], position_ms)
    if session.shuffle:
        _reshuffle(session, rng or random.Random())  # noqa: S311 - an order, not a secret
    return session_changed(session, "timeline")


@transaction.atomic
def queue_add(
    control: Control, *, track_ids: Sequence[int], play_next: bool = False
) -> PlaybackSession:
    """Queue tracks at the end, or to play next."""
    tracks = _playable(track_ids)
    session = session_begin(control)
    _append(session, tracks, after_current=play_next)
    return session_changed(session, "queue")


@transaction.atomic
def queue_move(control: Control, *, item_id: int, after: int | None) -> PlaybackSession:
    """Move one entry, in the order things play (shuffled or not), to right after the entry
    `after`; None puts it right after the entry playing (next up)."""
    session = session_begin(control)
    order = play_order(session)
    if item_id not in order or item_id == after or (after is not None and after not in order):
        raise PlaybackError("That is not in your queue.")
    order.remove(item_id)
    anchor = after if after is not None else session.current_item_id
    order.insert(order.index(anchor) + 1 if anchor in order else 0, item_id)
    if session.shuffle:
        session.shuffle_order = order
    else:
        items = QueueItem.objects.in_bulk(order)
        for position, pk in enumerate(order):
            items[pk].position = position
        QueueItem.objects.bulk_update(items.values(), ["position"])
    return session_changed(session, "queue")


@transaction.atomic
def queue_remove(control: Control, *, item_ids: Sequence[int]) -> PlaybackSession:
    """Take entries out of the queue; the track playing plays on."""
    session = session_begin(control)
    QueueItem.objects.filter(user_id=control.user_id, pk__in=item_ids).delete()
    session.refresh_from_db(fields=["current_item"])
    return session_changed(session, "queue")


@transaction.atomic
def queue_clear(control: Control) -> PlaybackSession:
    """Empty the queue but for the entry playing."""
    session = session_begin(control)
    QueueItem.objects.filter(user_id=control.user_id).exclude(
        pk=session.current_item_id or 0
    ).delete()
    session.shuffle_order = [session.current_item_id] if session.current_item_id else []
    return session_changed(session, "queue")


@transaction.atomic
def playback_next(control: Control) -> PlaybackSession:
    """The next entry (after the last, the first with repeat all; else playback stops)."""
    session = session_begin(control)
    timeline_advance(session, control.now)
    item = _neighbour(session, 1, wrap=session.repeat == PlaybackSession.Repeat.ALL)
    _play_item(session, control, item)
    return session_changed(session, "timeline")


@transaction.atomic
def playback_previous(control: Control) -> PlaybackSession:
    """Back to the start of this track if it has played a while, else the entry before."""
    session = session_begin(control)
    timeline_advance(session, control.now)
    item = None
    if session.position_ms < RESTART_MS:
        item = _neighbour(session, -1, wrap=session.repeat == PlaybackSession.Repeat.ALL)
    if item is None and session.track is not None:
        track_start(session, control, session.track, 0)
    elif item is not None:
        _play_item(session, control, item)
    return session_changed(session, "timeline")


@transaction.atomic
def playback_ended(control: Control, *, item_id: int | None = None) -> PlaybackSession:
    """The speaker played the track out: repeat it (repeat one) or go on to the next. With
    `item_id`, the queue entry that ended: if another one plays by now (someone pressed next
    meanwhile), this end is old news and changes nothing."""
    session = session_begin(control)
    if session.active_device_id != control.device.pk:
        raise PlaybackError("Only the speaker can say a track ended.")
    if item_id is not None and item_id != session.current_item_id:
        return session
    timeline_advance(session, control.now)
    repeat = session.repeat
    if repeat == PlaybackSession.Repeat.ONE and session.track is not None:
        track_start(session, control, session.track, 0)
    else:
        _play_item(session, control, _neighbour(session, 1, wrap=repeat == "all"))
    return session_changed(session, "timeline")


@transaction.atomic
def shuffle_set(control: Control, *, on: bool, rng: random.Random | None = None) -> PlaybackSession:
    """Switch shuffle; switching it on draws a new order that keeps the current entry first."""
    session = session_begin(control)
    if on:
        _reshuffle(session, rng or random.Random())  # noqa: S311 - an order, not a secret
    session.shuffle = on
    return session_changed(session, "options")


@transaction.atomic
def repeat_set(control: Control, *, mode: str) -> PlaybackSession:
    if mode not in PlaybackSession.Repeat.values:
        raise PlaybackError("Repeat is off, one or all.")
    session = session_begin(control)
    session.repeat = mode
    return session_changed(session, "options")


@transaction.atomic
def like_set(control: Control, *, track_id: int, liked: bool) -> PlaybackSession:
    """Like or unlike a track (the favourites the dashboard shows). The player likes what it
    plays: the session's track or one in the library. Any other id is "No such track.", as a
    like would open that track's dashboard page (its name) to the user."""
    known = (
        LibraryFile.objects.filter(track_id=track_id, error="").exists
        if liked
        else Track.objects.filter(pk=track_id).exists
    )
    session = session_begin(control)
    if not (session.track_id == track_id or known()):
        raise PlaybackError("No such track.")
    if liked:
        TrackLike.objects.get_or_create(user_id=control.user_id, track_id=track_id)
    else:
        TrackLike.objects.filter(user_id=control.user_id, track_id=track_id).delete()
    return session_changed(session, "like")
