"""A user's playback session: devices, the active speaker, and the timeline of the current track.

The server keeps the timeline: the position at the last change and whether it is playing, from
which the position now is projected. Clients only ask for changes; what they report is bounded
by it. The current track's listen is the playing time the server saw, and when another track
starts, playback stops or the track ends, it is recorded as a play (source `local`) by the same
rules as Spotify listens: long enough, or a large enough share of the track."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ops.counters import PLAYS_RECORDED, counters_add
from playback.events import EventType, event_publish_on_commit
from playback.models import ControlRequest, Device, LibraryFile, PlaybackSession, QueueItem
from scrobbler.models import Play, Track
from scrobbler.plays import play_thresholds
from scrobbler.rollups import rollups_mark, rollups_refresh_later
from scrobbler.tracking import END_SLACK_MS, counts_as_play

CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
# A device that has not said it is there for this long shows as offline (players beat every 20 s).
ONLINE_SECONDS = 60
# A session untouched this long starts its track again from the top.
STALE = timedelta(hours=24)
State = PlaybackSession.State


class PlaybackError(Exception):
    """A control the session cannot apply; the message says why (shown to the user)."""


@transaction.atomic
def device_register(*, user_id: int, client_id: str, name: str, platform: str = "") -> Device:
    """Register a device, or note that it is still there (a heartbeat, every 20 s or so). Other
    devices hear of a new or renamed one; a session whose speaker went away is settled."""
    if not CLIENT_ID.fullmatch(client_id):
        raise PlaybackError("A device id is 8 to 64 letters, digits, '-' or '_'.")
    name = " ".join(name.split())[:100] or "Unnamed device"
    platform = platform.strip()[:100]
    now = timezone.now()
    device = Device.objects.filter(user_id=user_id, client_id=client_id).first()
    known = device is not None and (device.name, device.platform) == (name, platform)
    if device is not None and known:
        Device.objects.filter(pk=device.pk).update(last_seen=now)
        device.last_seen = now
    else:
        device, _ = Device.objects.update_or_create(
            user_id=user_id,
            client_id=client_id,
            defaults={"name": name, "platform": platform, "last_seen": now},
        )
    session = session_get(user_id=user_id)
    if not known or _unsettled(session, now):
        session = _locked(user_id)
        settled = session_settle(session, now)
        session_changed(session, "timeline" if settled else "devices")
    return device


def _speaker_gone(session: PlaybackSession, now: datetime) -> bool:
    speaker = session.active_device
    return speaker is None or speaker.last_seen < now - timedelta(seconds=ONLINE_SECONDS)


def _unsettled(session: PlaybackSession, now: datetime) -> bool:
    playing_alone = session.state == State.PLAYING and _speaker_gone(session, now)
    stale = now - session.changed_at > STALE and session.position_ms + session.listened_ms > 0
    return playing_alone or stale


def session_settle(session: PlaybackSession, now: datetime) -> bool:
    """Bring a session left behind to rest (the session must be locked): playing with its
    speaker gone, it pauses where the speaker was last heard from; untouched for over a day, it
    goes back to the start of its track, the track kept. Says whether anything changed."""
    if not _unsettled(session, now):
        return False
    if session.state == State.PLAYING and _speaker_gone(session, now):
        speaker = session.active_device
        last_heard = speaker.last_seen if speaker is not None else session.changed_at
        timeline_advance(session, max(session.changed_at, min(now, last_heard)))
        session.state = State.PAUSED
    if now - session.changed_at > STALE:
        listen_finish(session, session.changed_at)
        session.position_ms = 0
    session.changed_at = now
    return True


def user_device(*, user_id: int, client_id: object) -> Device:
    """One of the user's own devices (another user's id is as unknown as a made-up one)."""
    device = Device.objects.filter(user_id=user_id, client_id=str(client_id)).first()
    if device is None:
        raise PlaybackError("Unknown device: register it first.")
    return device


def session_get(*, user_id: int) -> PlaybackSession:
    session, _ = PlaybackSession.objects.get_or_create(
        user_id=user_id, defaults={"changed_at": timezone.now()}
    )
    return session


def _locked(user_id: int) -> PlaybackSession:
    """The user's session, locked until the transaction ends (concurrent controls queue up),
    with its track and speaker (the lock is on the session's row only)."""
    locking = PlaybackSession.objects.select_for_update(of=("self",)).select_related(
        "track", "active_device"
    )
    session = locking.filter(user_id=user_id).first()
    if session is None:  # the user's first control: make the session, then lock it
        session_get(user_id=user_id)
        session = locking.get(user_id=user_id)
    return session


def _duration(session: PlaybackSession) -> int | None:
    return session.track.duration_ms if session.track is not None else None


def position_at(session: PlaybackSession, now: datetime) -> int:
    """Where playback stands at `now`: projected while playing, never past the track's end."""
    position = session.position_ms
    if session.state == State.PLAYING:
        elapsed = max(0, round((now - session.changed_at).total_seconds() * 1000))
        position += elapsed
    duration = _duration(session)
    return min(position, duration) if duration is not None else position


def timeline_advance(session: PlaybackSession, now: datetime) -> None:
    """Bring the timeline to `now`: the playing time since the last change is heard (up to the
    end of the track) and the position moves on."""
    position = position_at(session, now)
    if session.state == State.PLAYING:
        session.listened_ms += max(0, position - session.position_ms)
    session.position_ms = position
    session.changed_at = now


def listen_finish(session: PlaybackSession, now: datetime) -> Play | None:
    """Record the current track's listen as a play (if anything was heard) and start afresh."""
    track, heard, started = session.track, session.listened_ms, session.listen_started_at
    session.listened_ms = 0
    session.listen_started_at = None
    if track is None or started is None or heard <= 0:
        return None
    duration = track.duration_ms or 0
    min_ms, min_ratio = play_thresholds(session.user_id)
    finished = duration > 0 and session.position_ms >= duration - END_SLACK_MS
    play, created = Play.objects.get_or_create(
        user_id=session.user_id,
        track=track,
        ended_at=now,
        defaults={
            "started_at": min(started, now),
            "ms_played": heard,
            "source": Play.Source.LOCAL,
            "counted": counts_as_play(heard, duration, min_ms, min_ratio),
            "skipped": not finished,
        },
    )
    if not created:
        return None
    rollups_mark(user_id=session.user_id, since=now, until=now)
    counters_add({(PLAYS_RECORDED, Play.Source.LOCAL.value): 1})
    rollups_refresh_later(user_id=session.user_id)
    return play


def session_changed(session: PlaybackSession, kind: EventType) -> PlaybackSession:
    """The one revision bump and the one event of a control."""
    session.revision += 1
    session.save()
    event_publish_on_commit(user_id=session.user_id, rev=session.revision, type=kind)
    return session


def sessions_tracks_merging(*, aliases: Mapping[int, int]) -> None:
    """The catalog is about to merge tracks ({old id: id it becomes}; called inside the merge's
    transaction, before any row moves): each session whose track or queue holds an old track is
    locked for the rest of the merge, as a control locks it, and gets one new revision and one
    event after commit; the merge then points its track and queue entries at the new tracks."""
    queued = QueueItem.objects.filter(track_id__in=list(aliases)).values("user_id")
    touched = PlaybackSession.objects.filter(Q(track_id__in=list(aliases)) | Q(user_id__in=queued))
    for session in touched.select_for_update().order_by("pk"):
        session_changed(session, "timeline" if session.track_id in aliases else "queue")


def playable(track_id: int) -> bool:
    """Whether the library has a readable file for this track."""
    return LibraryFile.objects.filter(track_id=track_id, error="").exists()


@dataclass(frozen=True)
class Control:
    """One control request: who asks, from which of their devices, at what moment, and the id
    the device gave it (a retry carries the same id and is applied only once)."""

    user_id: int
    device: Device
    now: datetime
    event_id: str = ""


class AlreadyApplied(Exception):
    """This control's event id was seen before: it changed the session already."""


def session_begin(control: Control) -> PlaybackSession:
    """The user's session, locked, for a control not applied before."""
    session = _locked(control.user_id)
    if control.event_id:
        if not CLIENT_ID.fullmatch(control.event_id):
            raise PlaybackError("An event id is 8 to 64 letters, digits, '-' or '_'.")
        # The session lock orders concurrent retries: the second one sees the first's row.
        seen = ControlRequest.objects.filter(user_id=control.user_id, event_id=control.event_id)
        if seen.exists():
            raise AlreadyApplied(control.event_id)
        ControlRequest.objects.create(user_id=control.user_id, event_id=control.event_id)
    return session


@transaction.atomic
def speaker_choose(control: Control) -> PlaybackSession:
    """Make the device the one that plays: it continues where playback stands now. Media
    tokens minted for the previous speaker stop working."""
    session = session_begin(control)
    timeline_advance(session, control.now)
    if session.active_device_id != control.device.pk:
        session.active_device = control.device
        session.speaker_generation += 1
    return session_changed(session, "speaker")


def speaker_default(session: PlaybackSession, device: Device) -> None:
    """A session without a speaker plays on the device that asked."""
    if session.active_device_id is None:
        session.active_device = device
        session.speaker_generation += 1


def track_start(session: PlaybackSession, control: Control, track: Track, position_ms: int) -> None:
    """Record the listen before, and play `track` from `position_ms` (the timeline must have been
    advanced to `control.now`)."""
    listen_finish(session, control.now)
    speaker_default(session, control.device)
    session.track = track
    session.state = State.PLAYING
    session.position_ms = bounded(position_ms, track.duration_ms)
    session.listen_started_at = control.now


@transaction.atomic
def playback_pause(control: Control) -> PlaybackSession:
    return _pause(session_begin(control), control)


def _pause(session: PlaybackSession, control: Control) -> PlaybackSession:
    timeline_advance(session, control.now)
    if session.state == State.PLAYING:
        session.state = State.PAUSED
    return session_changed(session, "timeline")


@transaction.atomic
def playback_resume(control: Control) -> PlaybackSession:
    return _resume(session_begin(control), control)


def _resume(session: PlaybackSession, control: Control) -> PlaybackSession:
    if session.track is None:
        raise PlaybackError("Nothing to resume: choose a track.")
    timeline_advance(session, control.now)
    speaker_default(session, control.device)
    if session.state != State.PLAYING:
        session.state = State.PLAYING
        if session.listen_started_at is None:  # resumed after a stop: a new listen
            session.listen_started_at = control.now
    return session_changed(session, "timeline")


@transaction.atomic
def playback_toggle(control: Control) -> PlaybackSession:
    """Pause if playing, else play (the play/pause button and the space bar), decided under the
    session's lock: two devices toggling at once pause and resume, never pause twice."""
    session = session_begin(control)
    return _pause(session, control) if session.state == State.PLAYING else _resume(session, control)


@transaction.atomic
def playback_seek(control: Control, *, position_ms: int) -> PlaybackSession:
    """Jump within the current track; the listen goes on (only time heard counts)."""
    session = session_begin(control)
    if session.track is None:
        raise PlaybackError("Nothing to seek in.")
    timeline_advance(session, control.now)
    session.position_ms = bounded(position_ms, session.track.duration_ms)
    return session_changed(session, "timeline")


@transaction.atomic
def playback_stop(control: Control) -> PlaybackSession:
    """Stop, recording the listen; the track stays, from its start."""
    session = session_begin(control)
    timeline_advance(session, control.now)
    listen_finish(session, control.now)
    session.state = State.STOPPED
    session.position_ms = 0
    return session_changed(session, "timeline")


def bounded(position_ms: int, duration_ms: int | None) -> int:
    position = max(0, int(position_ms))
    return min(position, duration_ms) if duration_ms is not None else position


def control_requests_forget(*, older_than: timedelta = timedelta(days=1)) -> int:
    """Delete the ids of controls older than `older_than` (retries come within seconds)."""
    deleted, _ = ControlRequest.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted
