"""What the tracking engine takes, gives and keeps.

Pure Python: no Django, no I/O, no clock. Times are epoch ms taken from the observations.

- `Observation` in: one answer of currently-playing or recently-played, as the poller got it.
- `DetectedPlay` out: one listen, emitted once, when it is final.
- The thresholds both halves of the engine decide by, and `counts_as_play`, the rule that makes a
  listen a play (local playback uses it too).
- `State`, the engine's memory between polls: `state_dump` makes it a plain JSON-serialisable dict
  and `state_load` reads one back. That dict is stored per account in the database, so its shape
  (keys, their order, their meaning) is a stored format: a state saved by any earlier version
  must load and continue.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from scrobbler.epoch import moment_of

Endpoint = Literal["currently-playing", "recently-played"]

PLAY_MIN_MS = 30_000
# Progress may differ from elapsed time by this much without being called a seek (clock skew,
# response latency, Spotify's own rounding).
TOLERANCE_MS = 3_000
# A jump back to within this much of the start (plus the time that passed) is a restart.
RESTART_MS = 5_000
# Where playback must stand right after a change for it to be a restart (timestamp known):
# a restart puts it at 0, and response latency only lowers the estimate.
RESTART_POSITION_MS = 50
# A play that reached within this much of its end finished rather than being skipped.
END_SLACK_MS = 5_000
# recently-played's played_at may be this far from what live observation saw.
MATCH_WINDOW_MS = 20_000
# How long live plays are remembered for matching recently-played items (they appear late).
REMEMBER_MS = 3 * 3_600_000
# How long a play with an unseen end waits for recently-played before it is emitted as seen.
SETTLE_MS = 3_600_000
# Empty answers (204) for this long while a track was playing mean playback stopped.
BLANK_CLOSE_MS = 12_000
# A paused track not seen for this long is over.
STALE_PAUSE_MS = 3_600_000
# Observations further apart than this leave a blind spell in between.
SEEN_GAP_MS = 15_000
# Matching recently-played items to live plays: an item no live play takes costs this much (a
# play dated by its start costs 1, by its end nearly 0).
UNSEEN_COST = 3.0


@dataclass(frozen=True)
class Observation:
    at_ms: int
    endpoint: Endpoint
    status: int  # 0: network error
    body: dict[str, Any] | None


@dataclass(frozen=True)
class DetectedPlay:
    track_uri: str
    track: dict[str, Any]  # Spotify's track object, for the catalog
    started_at_ms: int
    ended_at_ms: int
    ms_played: int
    counted: bool
    skipped: bool
    source: Literal["live", "history"]

    def as_json(self) -> dict[str, Any]:
        return {
            "track_uri": self.track_uri,
            "started_at": _iso(self.started_at_ms),
            "ended_at": _iso(self.ended_at_ms),
            "ms_played": self.ms_played,
            "counted": self.counted,
            "skipped": self.skipped,
            "source": self.source,
        }


def _iso(ms: int) -> str:
    return moment_of(ms).isoformat(timespec="milliseconds")


@dataclass
class OpenPlay:
    """The play in progress, as last seen."""

    uri: str
    track: dict[str, Any]
    duration_ms: int
    started_at_ms: int
    heard_ms: int
    last_at_ms: int
    last_progress_ms: int
    playing: bool
    paused_at_ms: int | None = None
    listed: bool = False  # recently-played already lists it
    # The poller was blind before it began, so an unseen play of the same track may have ended
    # right where it started; and the played_at of the item that listed it by its start.
    blind_before: bool = False
    start_claim_ms: int | None = None
    blank_since_ms: int | None = None  # first empty answer (204) since it was last seen
    earliest_ms: int | None = None  # when its start is unsure (see Live._start)


@dataclass
class Remembered:
    """A live play that is over, kept a while to match recently-played items against."""

    uri: str
    started_at_ms: int
    ended_at_ms: int
    until_ms: int  # when live observation saw that it was over (after a pause: much later)
    matched: bool = False
    earliest_ms: int | None = None  # its start is unsure: it began no earlier than this
    blind_before: bool = False  # as in OpenPlay
    start_claim_ms: int | None = None


@dataclass
class Pending:
    """A play whose end was not seen: emitted when recently-played tells more, or after SETTLE_MS."""

    play: dict[str, Any]  # DetectedPlay fields
    latest_end_ms: int  # it cannot have ended later than this


@dataclass
class State:
    """All the engine remembers of one account between polls (see state_dump)."""

    current: OpenPlay | None = None
    remembered: list[Remembered] = field(default_factory=list)
    pending: list[Pending] = field(default_factory=list)
    history_seen: list[list[Any]] = field(default_factory=list)  # [uri, played_at_ms]
    last_seen_ms: int | None = None  # the last currently-playing answer (200 or 204)
    # recently-played items older than this were dealt with before (and are forgotten now).
    history_floor_ms: int | None = None


def counts_as_play(heard_ms: int, duration_ms: int, min_ms: int, min_ratio: float | None) -> bool:
    """Whether a listen of `heard_ms` counts as a play: long enough, or (when a share is set)
    a large enough share of the track. Spotify listens and local playback use the same rule."""
    if heard_ms >= min_ms:
        return True
    return min_ratio is not None and duration_ms > 0 and heard_ms >= min_ratio * duration_ms


def brief_track(item: dict[str, Any]) -> dict[str, Any]:
    """The parts of a track object the catalog keeps, so the state stays small."""
    album = item.get("album") if isinstance(item.get("album"), dict) else None
    artists = [a for a in item.get("artists") or [] if isinstance(a, dict)]
    brief: dict[str, Any] = {
        key: item[key] for key in ("type", "uri", "name", "duration_ms", "is_local") if key in item
    }
    brief["artists"] = [{"name": a.get("name"), "uri": a.get("uri")} for a in artists]
    isrc = (
        (item.get("external_ids") or {}).get("isrc")
        if isinstance(item.get("external_ids"), dict)
        else None
    )
    if isrc:
        brief["external_ids"] = {"isrc": isrc}
    if album is not None:
        brief["album"] = {
            "name": album.get("name"),
            "uri": album.get("uri"),
            "release_date": album.get("release_date"),
            "images": (album.get("images") or [])[:1],
            "artists": [
                {"name": a.get("name"), "uri": a.get("uri")}
                for a in album.get("artists") or []
                if isinstance(a, dict)
            ],
        }
    return brief


def state_dump(state: State) -> dict[str, Any]:
    """The state as stored: plain JSON types, keys in the dataclasses' field order."""
    return asdict(state)


def state_load(data: dict[str, Any]) -> State:
    """A stored state (or {} for none) read back into the dataclasses."""
    state = State()
    if data.get("current"):
        state.current = OpenPlay(**data["current"])
    state.remembered = [Remembered(**r) for r in data.get("remembered", [])]
    state.pending = [Pending(**p) for p in data.get("pending", [])]
    state.history_seen = [list(h) for h in data.get("history_seen", [])]
    state.last_seen_ms = data.get("last_seen_ms")
    state.history_floor_ms = data.get("history_floor_ms")
    return state
