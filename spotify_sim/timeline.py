"""The values a simulated listener's timeline is made of: devices, segments, plays, states."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from spotify_sim.times import from_ms

SegmentKind = Literal["track", "local", "episode", "ad", "unknown", "idle"]
PlayKind = Literal["track", "local", "episode"]
RepeatState = Literal["off", "track", "context"]
# What changed when a segment began. "start": a new item after the previous one finished (or
# after idle/ads); "next"/"previous"/"loop": a new item (or the same one again) by that action;
# "transfer": the short gap of a device switch; "repeat": the repeat mode changed.
Cause = Literal[
    "start", "next", "previous", "loop", "pause", "resume", "seek", "device", "transfer",
    "repeat", "ad", "idle",
]  # fmt: skip
# Why a play ended. "loop": repeat-one went round; "stopped": paused, then listening stopped.
EndReason = Literal["finished", "next", "previous", "loop", "stopped"]

HEARD_KINDS: frozenset[str] = frozenset({"track", "local", "episode"})


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    name: str
    type: str
    volume_percent: int


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of time ``[start_ms, end_ms)`` during which playback state does not change.

    ``progress_ms`` is the position at ``start_ms``; while ``is_playing`` it advances with time.
    ``play`` is the index of the ground-truth play the segment belongs to (None for ads, idle).
    """

    start_ms: int
    end_ms: int
    kind: SegmentKind
    uri: str | None  # the item's URI; None for ads, "unknown" gaps and idle
    duration_ms: int  # the item's duration (the ad's length for ads; 0 when there is no item)
    progress_ms: int
    is_playing: bool
    device: Device | None
    shuffle: bool
    repeat: RepeatState
    private: bool
    context_uri: str | None
    play: int | None
    cause: Cause

    @property
    def heard(self) -> bool:
        """True when this segment's time counts as listening to its play."""
        return self.is_playing and self.kind in HEARD_KINDS

    def progress_at(self, at_ms: int) -> int:
        if not self.is_playing:
            return self.progress_ms
        return min(self.duration_ms, self.progress_ms + max(0, at_ms - self.start_ms))


@dataclass(frozen=True, slots=True)
class Play:
    """One listen: ground truth. ``ms_played`` is heard time (no pauses; a seek adds nothing).

    ``rewound_ms``/``skipped_ahead_ms`` add up backward/forward seeks, so a play's final position
    is ``ms_played + skipped_ahead_ms - rewound_ms``, which equals ``duration_ms`` when it ended
    "finished" or "loop".
    """

    index: int
    track_uri: str
    kind: PlayKind
    started_at_ms: int
    ended_at_ms: int
    ms_played: int
    duration_ms: int
    end_reason: EndReason
    private: bool
    context_uri: str | None
    rewound_ms: int
    skipped_ahead_ms: int

    @property
    def started_at(self) -> datetime:
        return from_ms(self.started_at_ms)

    @property
    def ended_at(self) -> datetime:
        return from_ms(self.ended_at_ms)


@dataclass(frozen=True, slots=True)
class PlaybackState:
    """What plays at ``at_ms``: the segment, and the progress projected to that moment."""

    at_ms: int
    segment: Segment
    progress_ms: int

    @property
    def timestamp_ms(self) -> int:
        """When the playback state last changed (Spotify's ``timestamp``)."""
        return self.segment.start_ms
