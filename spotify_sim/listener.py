"""A simulated Spotify listener: a deterministic, lazily generated timeline of what plays when.

``Listener(seed, profile, start)`` plays from ``start`` on. The timeline is generated block by
block (one item with its pauses, seeks, loops...) from one RNG seeded by ``(seed, profile)``, so
the order of queries never changes the answer and every process computes the same timeline.
Look-ups bisect the generated segments: ``state_at`` is O(log n).
"""

from __future__ import annotations

import random
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from spotify_sim.catalog import (
    Catalog,
    Playlist,
    default_catalog,
    generate_playlists,
    stable_hex,
)
from spotify_sim.history import (
    HistoryOptions,
    HistoryPage,
    is_listed,
    played_at_ms,
    recently_played,
)
from spotify_sim.profiles import Profile, resolve_profile
from spotify_sim.timeline import (
    Cause,
    Device,
    EndReason,
    Play,
    PlaybackState,
    PlayKind,
    RepeatState,
    Segment,
    SegmentKind,
)
from spotify_sim.times import Instant, to_ms

_DEVICE_KINDS = (
    ("Computer", "MacBook Pro"), ("Smartphone", "Pixel 8"), ("Speaker", "Kitchen"),
    ("TV", "Living Room TV"), ("CastAudio", "Bedroom speaker"), ("Automobile", "Car"),
    ("Tablet", "iPad"),
)  # fmt: skip


@dataclass
class _Context:
    uri: str
    items: tuple[str, ...]
    position: int = -1


@dataclass
class _OpenPlay:
    index: int
    uri: str
    kind: PlayKind
    duration_ms: int
    started_at_ms: int
    private: bool
    context_uri: str | None
    heard_ms: int = 0
    rewound_ms: int = 0
    skipped_ahead_ms: int = 0


class Listener:
    """A listener's timeline and ground truth. Thread-safe; queries extend the timeline as needed."""

    def __init__(
        self,
        seed: int | str,
        profile: Profile | str | Mapping[str, Any],
        start: Instant,
        *,
        catalog: Catalog | None = None,
        owner_id: str = "listener",
    ) -> None:
        self.seed = str(seed)
        self.profile = resolve_profile(profile)
        self.start_ms = to_ms(start)
        self.owner_id = owner_id
        self.catalog = catalog or default_catalog()
        self.playlists: tuple[Playlist, ...] = generate_playlists(
            self.catalog, f"{self.seed}:{owner_id}"
        )
        self.devices = _devices(random.Random(f"devices:{self.seed}"))
        self._rng = random.Random(f"listener:{self.seed}:{self.profile.name}")
        self._lock = threading.RLock()
        self._segments: list[Segment] = []
        self._segment_starts: list[int] = []
        self._plays: list[Play] = []
        self._play_starts: list[int] = []
        self._play_ends: list[int] = []
        self._listed: dict[HistoryOptions, tuple[int, list[int]]] = {}
        self._now = self.start_ms
        self._device = self.devices[0]
        self._shuffle = False
        self._repeat: RepeatState = "off"
        self._context: _Context | None = None
        self._private_left = 0
        self._start_paused = False
        self._cause: Cause = "start"

    # --- queries -------------------------------------------------------------------------------

    def extend_to(self, at: Instant) -> None:
        """Generate the timeline until it covers ``at`` (and the play in progress then)."""
        until = to_ms(at)
        with self._lock:
            while self._now <= until:
                self._block()

    def state_at(self, at: Instant) -> PlaybackState | None:
        """What plays at ``at``, or None when nothing does (before the start, or idle)."""
        at_ms = to_ms(at)
        if at_ms < self.start_ms:
            return None
        with self._lock:
            self.extend_to(at_ms)
            segment = self._segments[bisect_right(self._segment_starts, at_ms) - 1]
        if segment.kind == "idle":
            return None
        return PlaybackState(at_ms, segment, segment.progress_at(at_ms))

    def segments(self, start: Instant, end: Instant) -> list[Segment]:
        """The segments that intersect ``[start, end)``."""
        start_ms, end_ms = to_ms(start), to_ms(end)
        with self._lock:
            self.extend_to(end_ms)
            first = max(0, bisect_right(self._segment_starts, start_ms) - 1)
            last = bisect_left(self._segment_starts, end_ms)
            return [s for s in self._segments[first:last] if s.end_ms > start_ms]

    def plays(self, start: Instant, end: Instant, *, overlapping: bool = False) -> list[Play]:
        """Ground-truth plays that started and ended within ``[start, end]``; with
        ``overlapping``, every play that intersects ``(start, end)``."""
        start_ms, end_ms = to_ms(start), to_ms(end)
        with self._lock:
            self.extend_to(end_ms)
            if overlapping:
                first = bisect_right(self._play_ends, start_ms)
                last = bisect_left(self._play_starts, end_ms)
            else:
                first = bisect_left(self._play_starts, start_ms)
                last = bisect_right(self._play_ends, end_ms)
            return self._plays[first:last]

    def is_listed(self, play: Play, options: HistoryOptions) -> bool:
        """Whether Spotify's history would ever list ``play`` under ``options``."""
        return is_listed(play, options, self.seed)

    def played_at_ms(self, play: Play, options: HistoryOptions) -> int:
        """The ``played_at`` Spotify's history would give ``play`` under ``options``."""
        return played_at_ms(play, options, self.seed)

    def recently_played(
        self,
        at: Instant,
        *,
        limit: int = 20,
        after: int | None = None,
        before: int | None = None,
        options: HistoryOptions | None = None,
    ) -> HistoryPage:
        """What recently-played returns at ``at`` (cursors are epoch ms); see ``history``."""
        at_ms = to_ms(at)
        options = options or HistoryOptions()
        with self._lock:
            self.extend_to(at_ms)
            ended = bisect_right(self._play_ends, at_ms)
            listed = self._listed_indices(options)
            return recently_played(
                self._plays,
                listed,
                ended,
                at_ms,
                options=options,
                seed=self.seed,
                limit=limit,
                after=after,
                before=before,
            )

    def _listed_indices(self, options: HistoryOptions) -> list[int]:
        checked, indices = self._listed.get(options, (0, []))
        indices.extend(
            play.index for play in self._plays[checked:] if is_listed(play, options, self.seed)
        )
        self._listed[options] = (len(self._plays), indices)
        return indices

    # --- generation ----------------------------------------------------------------------------

    def _block(self) -> None:
        """Generate one item (with an ad break or an idle gap around it): every play it starts
        also ends within the block."""
        rng, profile = self._rng, self.profile
        if self._context is None:
            self._new_context()
        if self._private_left == 0 and rng.random() < profile.private:
            self._private_left = rng.randint(1, 4)
        if not self._start_paused and rng.random() < profile.ad:
            self._ads()
        roll = rng.random()
        if roll < profile.episode:
            self._episode()
        elif roll < profile.episode + profile.local:
            self._item(rng.choice(tuple(self.catalog.local_tracks)))
        else:
            self._item(self._next_in_context())
        self._private_left = max(0, self._private_left - 1)
        already_idle = self._segments[-1].kind == "idle"
        if not self._start_paused and not already_idle and rng.random() < profile.idle:
            self._idle(int(rng.uniform(*profile.idle_s) * 1000))

    def _new_context(self) -> None:
        rng = self._rng
        if self.playlists and rng.random() < 0.6:
            playlist = rng.choice(self.playlists)
            self._context = _Context(playlist.uri, playlist.item_uris)
            self._shuffle = rng.random() < self.profile.shuffle
        else:
            favourite = rng.choice(rng.choice(self.playlists).item_uris)
            track = self.catalog.tracks.get(favourite.rpartition(":")[2])
            album = self.catalog.albums[
                track.album_id if track else rng.choice(tuple(self.catalog.albums))
            ]
            items = tuple(f"spotify:track:{track_id}" for track_id in album.track_ids)
            self._context = _Context(album.uri, items)
            self._shuffle = False
        self._repeat = "context" if rng.random() < 0.05 else "off"

    def _next_in_context(self) -> str:
        rng = self._rng
        if rng.random() < self.profile.context_switch:
            self._new_context()
        assert self._context is not None
        context = self._context
        if self._shuffle:
            context.position = rng.randrange(len(context.items))
        elif context.position + 1 < len(context.items):
            context.position += 1
        elif self._repeat == "context":
            context.position = 0
        else:
            self._new_context()
            assert self._context is not None
            context = self._context
            context.position = rng.randrange(len(context.items)) if self._shuffle else 0
        return context.items[context.position]

    def _item(self, uri: str) -> None:
        kind: PlayKind = "local" if uri.startswith("spotify:local:") else "track"
        duration = self.catalog.duration_of(uri)
        assert duration is not None, uri
        context = self._context.uri if self._context else None
        loops = 0
        if kind == "track" and self._rng.random() < self.profile.repeat_one:
            loops = self._rng.randint(1, 3)
        if not loops:
            self._play_once(uri, kind, duration, context)
            return
        restore, self._repeat = self._repeat, "track"
        for _ in range(loops):
            self._play_once(uri, kind, duration, context, interrupts=False, end_reason="loop")
        # The last time round, the listener turns repeat off somewhere in the track.
        off_at = self._rng.randint(0, duration - 1)
        self._play_once(uri, kind, duration, context, repeat_off_at=(off_at, restore))
        self._repeat = restore  # also when the track was left before repeat was turned off

    def _episode(self) -> None:
        rng = self._rng
        show = rng.choice(tuple(self.catalog.shows.values()))
        episode = self.catalog.episodes[rng.choice(show.episode_ids)]
        heard = rng.randint(60_000, min(episode.duration_ms - 1, 20 * 60_000))
        self._play_once(episode.uri, "episode", episode.duration_ms, show.uri, stop_at=heard)

    def _play_once(
        self,
        uri: str,
        kind: PlayKind,
        duration: int,
        context: str | None,
        *,
        interrupts: bool = True,
        end_reason: EndReason = "finished",
        stop_at: int | None = None,
        repeat_off_at: tuple[int, RepeatState] | None = None,
        allow_previous: bool = True,
    ) -> None:
        """Play ``uri`` once from the start: one ground-truth play (a "previous" restart adds a
        second one)."""
        rng, profile = self._rng, self.profile
        play = _OpenPlay(
            len(self._plays), uri, kind, duration, self._now, self._private_left > 0, context
        )
        position = 0
        if self._start_paused:  # the track was changed while paused: it starts paused
            self._start_paused = False
            self._emit_play(play, rng.randint(1_000, 60_000), position, playing=False)
            self._cause = "resume"
        events = self._plan(duration, interrupts=interrupts, allow_previous=allow_previous)
        if stop_at is not None:
            events.append((stop_at, "next"))
        if repeat_off_at is not None:
            events.append((repeat_off_at[0], "repeat_off"))
        events.sort(key=lambda event: event[0])
        for at, action in events:
            if at < position:  # a forward seek went past it
                continue
            self._emit_play(play, at - position, position, playing=True)
            position = at
            if action == "pause":
                pause_ms = int(rng.uniform(*profile.pause_s) * 1000)
                self._cause = "pause"
                self._emit_play(play, pause_ms, position, playing=False)
                roll = rng.random()
                if roll < profile.change_while_paused:
                    self._end(play, "next", then="next")
                    self._start_paused = True
                    return
                if roll < profile.change_while_paused + profile.abandon_pause:
                    self._end(play, "stopped", then="start")
                    self._idle(int(rng.uniform(*profile.idle_s) * 1000))
                    return
                self._cause = "resume"
            elif action == "seek":
                position = self._seek(play, position)
                if position >= duration:
                    break
            elif action == "device":
                self._switch_device(play, position)
            elif action == "repeat_off":
                assert repeat_off_at is not None
                self._repeat = repeat_off_at[1]
                self._cause = "repeat"
            elif action == "next":
                self._end(play, "next", then="next")
                return
            else:  # "previous" more than 3 s in restarts the track: a new play of it
                self._end(play, "previous", then="previous")
                self._play_once(uri, kind, duration, context, allow_previous=False)
                return
        self._emit_play(play, duration - position, position, playing=True)
        self._end(play, end_reason, then="start" if end_reason == "finished" else "loop")

    def _plan(
        self, duration: int, *, interrupts: bool, allow_previous: bool
    ) -> list[tuple[int, str]]:
        rng, profile = self._rng, self.profile
        events: list[tuple[int, str]] = []
        if not interrupts or duration < 4_000:
            return events
        if rng.random() < profile.pause:
            events.append((rng.randint(1_000, duration - 1_000), "pause"))
        if rng.random() < profile.seek:
            events.append((rng.randint(1_000, duration - 1_000), "seek"))
        if rng.random() < profile.device_switch:
            events.append((rng.randint(1_000, duration - 1_000), "device"))
        roll = rng.random()
        if roll < profile.skip:
            if rng.random() < profile.skip_early or duration <= 31_000:
                events.append((rng.randint(500, min(30_000, duration - 1)), "next"))
            else:
                events.append((rng.randint(30_001, duration - 1), "next"))
        elif allow_previous and roll < profile.skip + profile.previous:
            events.append((rng.randint(3_001, duration - 1), "previous"))
        return events

    def _seek(self, play: _OpenPlay, position: int) -> int:
        rng, profile = self._rng, self.profile
        if rng.random() < profile.seek_back:
            # Not into the first second: the API shows a seek to the very start exactly as it
            # shows "previous", and Encore counts that as a restart (a new play).
            target = rng.randint(min(1_000, position), position)
            play.rewound_ms += position - target
        else:
            end = play.duration_ms
            target = end if rng.random() < profile.seek_to_end else rng.randint(position, end)
            play.skipped_ahead_ms += target - position
        self._cause = "seek"
        return target

    def _switch_device(self, play: _OpenPlay, position: int) -> None:
        rng = self._rng
        if rng.random() < self.profile.transfer_gap:
            # Spotify briefly reports an item-less "unknown" state while playback moves.
            self._cause = "transfer"
            self._emit(self._segment("unknown", None, 0, position, rng.randint(300, 1_500), play))
        others = [device for device in self.devices if device != self._device]
        self._device = rng.choice(others)
        self._cause = "device"

    def _ads(self) -> None:
        for _ in range(self._rng.randint(1, 2)):
            length = self._rng.randint(15_000, 30_000)
            self._cause = "ad"
            segment = self._segment("ad", None, length, 0, length, None, playing=True)
            self._emit(segment)
        self._cause = "start"

    def _idle(self, length_ms: int) -> None:
        self._cause = "idle"
        self._emit(self._segment("idle", None, 0, 0, length_ms, None))
        if self._rng.random() < 0.5:
            self._device = self._rng.choice(self.devices)
        if self._rng.random() < 0.5:
            self._new_context()
        self._cause = "start"

    def _segment(
        self,
        kind: SegmentKind,
        uri: str | None,
        duration: int,
        position: int,
        length: int,
        play: _OpenPlay | None,
        *,
        playing: bool = False,
    ) -> Segment:
        return Segment(
            start_ms=self._now,
            end_ms=self._now + length,
            kind=kind,
            uri=uri,
            duration_ms=duration,
            progress_ms=position,
            is_playing=playing,
            device=None if kind == "idle" else self._device,
            shuffle=self._shuffle,
            repeat=self._repeat,
            private=play.private if play else self._private_left > 0 and kind != "idle",
            context_uri=play.context_uri if play else None,
            play=play.index if play else None,
            cause=self._cause,
        )

    def _emit_play(self, play: _OpenPlay, length: int, position: int, *, playing: bool) -> None:
        if length <= 0:
            return
        segment = self._segment(
            play.kind, play.uri, play.duration_ms, position, length, play, playing=playing
        )
        self._emit(segment)
        if playing:
            play.heard_ms += length

    def _emit(self, segment: Segment) -> None:
        if segment.end_ms <= segment.start_ms:
            return
        self._segments.append(segment)
        self._segment_starts.append(segment.start_ms)
        self._now = segment.end_ms

    def _end(self, play: _OpenPlay, reason: EndReason, *, then: Cause) -> None:
        self._plays.append(
            Play(
                index=play.index,
                track_uri=play.uri,
                kind=play.kind,
                started_at_ms=play.started_at_ms,
                ended_at_ms=self._now,
                ms_played=play.heard_ms,
                duration_ms=play.duration_ms,
                end_reason=reason,
                private=play.private,
                context_uri=play.context_uri,
                rewound_ms=play.rewound_ms,
                skipped_ahead_ms=play.skipped_ahead_ms,
            )
        )
        self._play_starts.append(play.started_at_ms)
        self._play_ends.append(self._now)
        self._cause = then


def _devices(rng: random.Random) -> tuple[Device, ...]:
    chosen = rng.sample(_DEVICE_KINDS, rng.randint(2, 4))
    return tuple(
        Device(stable_hex("device", rng.random(), length=40), name, kind, rng.randint(20, 100))
        for kind, name in chosen
    )
