"""The play-tracking engine: turns what Spotify shows into plays, each real play exactly once.

Pure Python: no Django, no I/O, no clock. Time comes from the observations, in epoch ms.

Input: observations of currently-playing (polled every few seconds) and recently-played (polled
now and then). Output: plays, each emitted once, when it is over ("count on transition").

- currently-playing is followed as a sequence of states. Between two observations of the same
  track, progress that moved as much as the time that passed is heard time; a jump forward or
  back is a seek (the time that passed still counts as heard); progress that wrapped past the
  end is repeat-one (a new play); a jump back to near the start is a restart (a new play).
  Pauses add nothing. A track changed while paused ends its play at the pause.
- Observations that tell nothing (network errors, 429, 5xx) are ignored; the next real one is
  compared with the last, so gaps are bridged when progress is consistent. A 204 or an ad ends
  the current play only once it must have finished.
- recently-played is reconciled with what was seen live: an item that matches a live play (by
  its end, or its start: Spotify's `played_at` is usually the end, sometimes the start) is the
  same listen; an item for the play still in progress is noted on it; anything else was played
  while the poller was blind and becomes a play of its own (source "history").
- A live play whose end was not seen (the poller was blind when it ended) is held back until
  recently-played says how it ended, or for SETTLE_MS at most.

State is a plain JSON-serialisable dict (`Tracker.state()`), so any worker can continue.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

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
    from datetime import UTC

    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


@dataclass
class _Open:
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
    earliest_ms: int | None = None  # when its start is unsure (see _start)


@dataclass
class _Remembered:
    uri: str
    started_at_ms: int
    ended_at_ms: int
    until_ms: int  # when live observation saw that it was over (after a pause: much later)
    matched: bool = False
    earliest_ms: int | None = None  # its start is unsure: it began no earlier than this
    blind_before: bool = False  # as in _Open
    start_claim_ms: int | None = None


@dataclass
class _Pending:
    """A play whose end was not seen: emitted when recently-played tells more, or after SETTLE_MS."""

    play: dict[str, Any]  # DetectedPlay fields
    latest_end_ms: int  # it cannot have ended later than this


@dataclass
class _State:
    current: _Open | None = None
    remembered: list[_Remembered] = field(default_factory=list)
    pending: list[_Pending] = field(default_factory=list)
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


class Tracker:
    """Feed observations in time order; each call returns the plays that just became final."""

    def __init__(
        self,
        state: dict[str, Any] | None = None,
        *,
        play_min_ms: int = PLAY_MIN_MS,
        play_min_ratio: float | None = None,
    ) -> None:
        self.play_min_ms = play_min_ms
        self.play_min_ratio = play_min_ratio
        self._s = _load(state or {})

    def state(self) -> dict[str, Any]:
        return asdict(self._s)

    def observe(self, observation: Observation) -> list[DetectedPlay]:
        out: list[DetectedPlay] = []
        at = observation.at_ms
        if observation.endpoint == "recently-played":
            if observation.status == 200 and isinstance(observation.body, dict):
                out += self._reconcile(observation.body.get("items") or [], at)
        elif observation.status in (200, 204):
            out += self._currently_playing(
                observation.body if observation.status == 200 else None, at
            )
            self._s.last_seen_ms = at
        out += self._settle(at)
        self._forget(at)
        return out

    def flush(self, at_ms: int) -> list[DetectedPlay]:
        """End of the stream (a replay): close the open play as last seen, emit what waits."""
        out: list[DetectedPlay] = []
        current = self._s.current
        if current is not None:
            out += self._close(
                current,
                end_ms=current.paused_at_ms or current.last_at_ms,
                seen_end=True,
                until_ms=at_ms,
            )
            self._s.current = None
        for pending in self._s.pending:
            out.append(DetectedPlay(**pending.play))
        self._s.pending = []
        return out

    # --- currently-playing --------------------------------------------------------------------

    def _currently_playing(self, body: dict[str, Any] | None, at: int) -> list[DetectedPlay]:
        item = body.get("item") if body else None
        is_track = (
            body is not None
            and isinstance(item, dict)
            and body.get("currently_playing_type", "track") == "track"
            and item.get("type", "track") == "track"
            and isinstance(item.get("uri"), str)
        )
        current = self._s.current
        if not is_track:
            other = body is not None and body.get("currently_playing_type") in ("ad", "episode")
            return self._something_else(body, at) if other else self._nothing_playing(at)
        assert body is not None
        assert isinstance(item, dict)
        uri = str(item["uri"])
        duration = int(item.get("duration_ms") or 0)
        progress = body.get("progress_ms")
        playing = bool(body.get("is_playing"))
        if current is None:
            self._start(item, uri, duration, progress, playing, at, body)
            return []
        if progress is None:  # no position to compare: keep what we know
            return []
        progress = int(progress)
        if current.uri != uri:
            out = self._close_on_change(
                current,
                at,
                new_progress=progress,
                new_playing=playing,
                new_stamp=body.get("timestamp"),
            )
            self._start(item, uri, duration, progress, playing, at, body, previous_end=out[1])
            return out[0]
        return self._same_track(current, item, progress, playing, at, body)

    def _start(
        self,
        item: dict[str, Any],
        uri: str,
        duration: int,
        progress: int | None,
        playing: bool,
        at: int,
        body: dict[str, Any],
        previous_end: int | None = None,
    ) -> None:
        position = int(progress or 0)
        paused_at = None if playing else _pause_time(body, at)
        # Paused: it stood at this position since the pause, not since now.
        started = (paused_at if paused_at is not None else at) - position
        # What was heard before this first sight: at most the time since we last saw something
        # else (or the previous play ended); all of it when we had not been looking.
        seen_before = max(
            x for x in (previous_end, self._s.last_seen_ms, -(2**62)) if x is not None
        )
        heard = position if seen_before < started else min(position, max(0, at - seen_before))
        self._s.current = _Open(
            uri=uri,
            track=brief_track(item),
            duration_ms=duration,
            started_at_ms=max(started, previous_end) if previous_end is not None else started,
            heard_ms=heard,
            last_at_ms=at,
            last_progress_ms=position,
            playing=playing,
            paused_at_ms=paused_at,
            earliest_ms=_unsure_start(body, started, seen_before, at),
            blind_before=seen_before < started - SEEN_GAP_MS,
        )

    def _same_track(
        self,
        current: _Open,
        item: dict[str, Any],
        progress: int,
        playing: bool,
        at: int,
        body: dict[str, Any],
    ) -> list[DetectedPlay]:
        current.blank_since_ms = None
        elapsed = max(0, at - current.last_at_ms)
        moved = progress - current.last_progress_ms
        duration = current.duration_ms or 10**12
        out: list[DetectedPlay] = []
        stamp = body.get("timestamp")
        if isinstance(stamp, int) and current.last_at_ms < stamp <= at:
            # The state changed since we last looked, at `stamp`: where did it stand before and
            # after? Back to the very start from well into the track is a new play (restart,
            # "previous", or repeat-one going round), ending exactly then -- unless the track
            # had run out before then (handled below: it ended on its own).
            before = current.last_progress_ms + (
                stamp - current.last_at_ms if current.playing else 0
            )
            after = progress - (at - stamp if playing else 0)
            if after <= RESTART_POSITION_MS < before - 2_000 and before <= duration + TOLERANCE_MS:
                end = stamp if current.playing else (current.paused_at_ms or current.last_at_ms)
                if current.playing:
                    current.heard_ms += max(
                        0, min(stamp - current.last_at_ms, duration - current.last_progress_ms)
                    )
                finished = before >= duration - END_SLACK_MS
                return out + self._again(
                    current,
                    item,
                    body,
                    at,
                    progress,
                    playing,
                    end=end,
                    seen_end=True,
                    skipped=not finished,
                )
        if current.playing:
            remaining = max(0, duration - current.last_progress_ms)
            # A change the timestamp dates before the natural end, landing away from the start,
            # was a seek back, not the track going round.
            seeked_back = (
                isinstance(stamp, int)
                and current.last_at_ms < stamp < current.last_at_ms + remaining - 250
                and progress - (at - stamp) > RESTART_POSITION_MS
            )
            wrapped = (
                elapsed + TOLERANCE_MS >= remaining
                and progress <= elapsed - remaining + TOLERANCE_MS
                and not seeked_back
            )
            if moved < -TOLERANCE_MS and wrapped:
                # Repeat-one (or a new play of the same track) went round the end.
                end = current.last_at_ms + remaining
                current.heard_ms += remaining
                seen = elapsed <= SEEN_GAP_MS
                return out + self._again(
                    current, item, body, at, progress, playing, end=end, seen_end=seen
                )
            if moved < -TOLERANCE_MS and _restarted(body, progress, elapsed, at):
                # Back to the start: "previous" restarted it, a new play.
                end = max(current.last_at_ms, at - progress)
                current.heard_ms += min(end - current.last_at_ms, remaining)
                return out + self._again(
                    current, item, body, at, progress, playing, end=end, seen_end=True, skipped=True
                )
            # A change (seek) the timestamp dates before the track could have ended keeps it one play.
            seeked_in_time = (
                isinstance(stamp, int)
                and current.last_at_ms < stamp <= at
                and stamp - current.last_at_ms <= remaining
            )
            # Ahead of where it was by less than the time that passed, within a short gap: paused
            # in between (after a long one, the track may as well have been played again).
            paused_between = 0 <= moved <= elapsed + TOLERANCE_MS and elapsed <= 2 * SEEN_GAP_MS
            if (
                elapsed > remaining + TOLERANCE_MS
                and abs(moved - elapsed) > TOLERANCE_MS
                and not seeked_in_time
                and not paused_between
            ):
                # Longer than the rest of the track, and not where continuous play would be:
                # it ended unseen and the same track started again.
                end = current.last_at_ms + remaining
                current.heard_ms += remaining
                return out + self._again(
                    current, item, body, at, progress, playing, end=end, seen_end=False
                )
            # Continuous play, a seek, or a pause in between: what passed while playing counts,
            # bounded by both the elapsed time and (without seeks) how far progress moved.
            if abs(moved - elapsed) <= TOLERANCE_MS:
                current.heard_ms += max(0, min(moved, elapsed))
            elif not playing:
                current.heard_ms += max(0, min(moved, elapsed))  # paused somewhere in between
            else:
                current.heard_ms += elapsed  # a seek: the time still passed listening
        elif playing:
            # Resumed (maybe after a seek): heard at most what progress moved since the pause.
            if moved < -TOLERANCE_MS and _restarted(body, progress, elapsed, at):
                end = current.paused_at_ms or current.last_at_ms
                return out + self._again(
                    current, item, body, at, progress, playing, end=end, seen_end=True, skipped=True
                )
            current.heard_ms += max(0, min(moved, elapsed))
        current.last_at_ms = at
        current.last_progress_ms = progress
        if playing:
            current.paused_at_ms = None
        elif current.playing or current.paused_at_ms is None:
            current.paused_at_ms = _pause_time(body, at)
        current.playing = playing
        return out

    def _again(
        self,
        current: _Open,
        item: dict[str, Any],
        body: dict[str, Any],
        at: int,
        progress: int,
        playing: bool,
        *,
        end: int,
        seen_end: bool,
        skipped: bool | None = None,
    ) -> list[DetectedPlay]:
        """The current play is over at `end` and the same track plays again: a new play."""
        out = self._close(current, end_ms=end, seen_end=seen_end, skipped=skipped, until_ms=at)
        self._start(
            item, current.uri, current.duration_ms, progress, playing, at, body, previous_end=end
        )
        return out

    def _close_on_change(
        self, current: _Open, at: int, *, new_progress: int, new_playing: bool, new_stamp: Any
    ) -> tuple[list[DetectedPlay], int]:
        """Another track is playing: end the current play; returns the plays and its end."""
        if not current.playing:
            end = current.paused_at_ms or current.last_at_ms
            return self._close(current, end_ms=end, seen_end=True, skipped=None, until_ms=at), end
        remaining = max(0, current.duration_ms - current.last_progress_ms)
        natural_end = current.last_at_ms + remaining
        switched = at - new_progress if new_playing else at
        if (
            switched < current.last_at_ms
            and isinstance(new_stamp, int)
            and current.last_at_ms <= new_stamp <= at
        ):
            switched = (
                new_stamp  # the new track was seeked: it began by its last change at the latest
            )
        end = max(current.last_at_ms, min(natural_end, switched))
        current.heard_ms += end - current.last_at_ms
        # Its end was seen when the change showed up within a normal polling gap; after a longer
        # blind spell other tracks may have played in between, so recently-played has a say.
        seen = at - current.last_at_ms <= SEEN_GAP_MS
        return self._close(current, end_ms=end, seen_end=seen, skipped=None, until_ms=at), end

    def _something_else(self, body: dict[str, Any] | None, at: int) -> list[DetectedPlay]:
        """An ad or an episode plays: the track's play ended when that began (or earlier)."""
        current = self._s.current
        if current is None:
            return []
        stamp = (body or {}).get("timestamp")
        began = stamp if isinstance(stamp, int) and current.last_at_ms <= stamp <= at else at
        if not current.playing:
            end = current.paused_at_ms or current.last_at_ms
        else:
            natural_end = current.last_at_ms + max(
                0, current.duration_ms - current.last_progress_ms
            )
            end = max(current.last_at_ms, min(natural_end, began))
            current.heard_ms += end - current.last_at_ms
        seen = at - current.last_at_ms <= SEEN_GAP_MS
        return self._close(current, end_ms=end, seen_end=seen, until_ms=at)

    def _nothing_playing(self, at: int) -> list[DetectedPlay]:
        current = self._s.current
        if current is None:
            return []
        if current.playing:
            natural_end = current.last_at_ms + max(
                0, current.duration_ms - current.last_progress_ms
            )
            blank_early = (
                current.blank_since_ms is not None
                and current.blank_since_ms < natural_end - TOLERANCE_MS
            )
            if at >= natural_end and not blank_early:
                current.heard_ms += natural_end - current.last_at_ms
                self._s.current = None
                return self._close(
                    current,
                    end_ms=natural_end,
                    seen_end=at - current.last_at_ms <= SEEN_GAP_MS,
                    until_ms=at,
                )
            if current.blank_since_ms is None:
                current.blank_since_ms = at  # one empty answer may be a glitch: wait for more
                return []
            if at - current.blank_since_ms < BLANK_CLOSE_MS and at < natural_end:
                return []
            # Empty for a while: playback stopped somewhere after the last sight. Close it as
            # last seen; recently-played may still tell how long it really ran.
            return self._close(current, end_ms=current.last_at_ms, seen_end=False, until_ms=at)
        if at - (current.paused_at_ms or current.last_at_ms) > STALE_PAUSE_MS:
            self._s.current = None
            return self._close(
                current,
                end_ms=current.paused_at_ms or current.last_at_ms,
                seen_end=True,
                until_ms=at,
            )
        return []

    def _close(
        self,
        current: _Open,
        *,
        end_ms: int,
        seen_end: bool,
        skipped: bool | None = None,
        until_ms: int | None = None,
    ) -> list[DetectedPlay]:
        """Turn the open play into a DetectedPlay (or hold it back when its end was not seen)."""
        if self._s.current is current:
            self._s.current = None
        heard = max(0, min(current.heard_ms, end_ms - current.started_at_ms))
        if current.duration_ms:
            finished = current.last_progress_ms + (
                end_ms - current.last_at_ms if current.playing else 0
            ) >= (current.duration_ms - END_SLACK_MS)
        else:
            finished = True
        if skipped is None:
            skipped = not finished
        play: dict[str, Any] = {
            "track_uri": current.uri,
            "track": current.track,
            "started_at_ms": current.started_at_ms,
            "ended_at_ms": max(end_ms, current.started_at_ms),
            "ms_played": heard,
            "counted": self._counts(heard, current.duration_ms),
            "skipped": bool(skipped),
            "source": "live",
        }
        self._s.remembered.append(
            _Remembered(
                current.uri,
                current.started_at_ms,
                play["ended_at_ms"],
                until_ms=max(until_ms or end_ms, end_ms),
                matched=current.listed,
                earliest_ms=current.earliest_ms,
                blind_before=current.blind_before,
                start_claim_ms=current.start_claim_ms,
            )
        )
        if not seen_end and not current.listed:
            self._s.pending.append(_Pending(play, latest_end_ms=end_ms))
            return []
        return [DetectedPlay(**play)]

    def _counts(self, heard: int, duration: int) -> bool:
        return counts_as_play(heard, duration, self.play_min_ms, self.play_min_ratio)

    # --- recently-played ----------------------------------------------------------------------

    def _reconcile(self, items: list[Any], at: int) -> list[DetectedPlay]:
        out: list[DetectedPlay] = []
        # Counted, not a set: two plays of one track can share a played_at (a repeat-one play
        # dated by its start right where the previous one, dated by its end, ended).
        seen = Counter((uri, played) for uri, played in self._s.history_seen)
        in_answer: Counter[tuple[str, int]] = Counter()
        parsed = []
        for item in items:
            track = item.get("track") if isinstance(item, dict) else None
            played_at = _parse_ms(item.get("played_at")) if isinstance(item, dict) else None
            if (
                not isinstance(track, dict)
                or not isinstance(track.get("uri"), str)
                or played_at is None
            ):
                continue
            parsed.append((played_at, str(track["uri"]), track))
        # Items older than the floor were dealt with by earlier answers. The floor follows
        # Spotify's own played_at values, not our clock, so clock skew cannot move it.
        floor = self._s.history_floor_ms
        fresh: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for played_at, uri, track in sorted(parsed, key=lambda p: p[0]):
            if floor is not None and played_at < floor:
                continue
            in_answer[(uri, played_at)] += 1
            if in_answer[(uri, played_at)] <= seen[(uri, played_at)]:
                continue
            self._s.history_seen.append([uri, played_at])
            fresh.setdefault(uri, []).append((played_at, track))
        for uri, listed in fresh.items():
            out += self._assign(uri, listed, at)
        if parsed:
            newest = max(p[0] for p in parsed)
            self._s.history_floor_ms = max(floor or 0, newest - REMEMBER_MS)
            self._s.history_seen = [
                h for h in self._s.history_seen if h[1] >= self._s.history_floor_ms
            ]
        return out

    def _unseen(self, uri: str, track: dict[str, Any], played_at: int) -> DetectedPlay:
        """A play recently-played lists and live observation did not see: dated by its end,
        unless a play of the same track already ends there (then this one began there)."""
        duration = int(track.get("duration_ms") or 0)
        start, end = played_at - duration, played_at
        for r in self._s.remembered:
            if r.uri != uri:
                continue
            if (
                r.start_claim_ms is not None
                and abs(r.start_claim_ms - played_at) <= MATCH_WINDOW_MS
            ):
                r.start_claim_ms = None  # this is the unseen play its claim might have hidden
            if abs(r.ended_at_ms - played_at) <= TOLERANCE_MS:
                start, end = played_at, played_at + duration
        self._s.remembered.append(_Remembered(uri, start, end, until_ms=end, matched=True))
        return DetectedPlay(
            track_uri=uri,
            track=brief_track(track),
            started_at_ms=start,
            ended_at_ms=end,
            ms_played=duration,
            counted=True,  # Spotify lists only plays of 30 s or more
            skipped=False,
            source="history",
        )

    def _latest_end(self, current: _Open, at: int) -> int:
        """The latest the open play can have ended: by its natural end if it was playing when
        last seen, but any time until now if it was paused (it may have resumed unseen)."""
        if not current.playing:
            return at
        remaining = max(0, current.duration_ms - current.last_progress_ms)
        return max(current.last_at_ms + remaining, current.started_at_ms + current.duration_ms)

    def _assign(
        self, uri: str, listed: list[tuple[int, dict[str, Any]]], at: int
    ) -> list[DetectedPlay]:
        """Match new recently-played items of one track (oldest first) to the live plays of it
        not yet listed, keeping both in time order. An item belongs to a play when it falls
        between its start and when live observation saw it was over (a play left paused ends
        at the pause, but Spotify dates it when the next track began; a play whose end went
        unseen may have run to its natural end). Items dated at a play's end are preferred to
        items dated at its start (Spotify's usual dating), and an item no play can take is a
        play the poller did not see. Matching in order, not greedily, keeps back-to-back plays
        of one track (repeat-one) straight when some are dated by start and some by end."""
        out: list[DetectedPlay] = []
        items = [(p, t) for p, t in listed if not self._take_over(uri, p, t, out)]
        plays: list[_Remembered | _Open] = sorted(
            (r for r in self._s.remembered if r.uri == uri and not r.matched),
            key=lambda r: r.started_at_ms,
        )
        current = self._s.current
        if current is not None and current.uri == uri and not current.listed:
            plays.append(current)
        pending = {(p.play["track_uri"], p.play["started_at_ms"]): p for p in self._s.pending}
        costs = [[self._match_cost(p, item, at, pending) for p in plays] for item, _ in items]
        for (played_at, track), index in zip(items, _align(costs), strict=True):
            if index is None:
                out.append(self._unseen(uri, track, played_at))
                continue
            play = plays[index]
            if _provisional(play, played_at):
                play.start_claim_ms = played_at
            if isinstance(play, _Open):
                play.listed = True
                continue
            play.matched = True
            held = pending.get((play.uri, play.started_at_ms))
            if held is not None:
                out.append(self._complete(held, play, played_at))
        return out

    def _match_cost(
        self,
        play: _Remembered | _Open,
        played_at: int,
        at: int,
        pending: dict[tuple[str, int], _Pending],
    ) -> float | None:
        """How unlikely it is that the item dated played_at lists this play; None: it cannot."""
        if isinstance(play, _Open):
            latest, end = self._latest_end(play, at), None
        else:
            latest, end = (
                play.until_ms,
                min(abs(play.ended_at_ms - played_at), abs(play.until_ms - played_at)),
            )
            held = pending.get((play.uri, play.started_at_ms))
            if held is not None:
                latest = max(
                    latest, play.started_at_ms + int(held.play["track"].get("duration_ms") or 0)
                )
        earliest = min(play.started_at_ms, play.earliest_ms or play.started_at_ms)
        if not earliest - MATCH_WINDOW_MS <= played_at <= latest + MATCH_WINDOW_MS:
            return None
        if end is not None and end <= MATCH_WINDOW_MS:
            return end / (10 * MATCH_WINDOW_MS)
        start = abs(play.started_at_ms - played_at)
        if start <= MATCH_WINDOW_MS:
            return 1 + start / (10 * MATCH_WINDOW_MS)
        return 0.5

    def _take_over(
        self, uri: str, played_at: int, track: dict[str, Any], out: list[DetectedPlay]
    ) -> bool:
        """An item dated at (or before) the start of a play first seen after a blind spell was
        only a provisional match: it may be the end of an unseen play of the same track
        (repeat-one). When an item that fits the play better turns up, dated at its end (or at
        its start, against one dated before it), it takes the play over, and the earlier item
        becomes the unseen play it was."""
        for r in self._s.remembered:
            claim = r.start_claim_ms
            if r.uri != uri or claim is None or claim >= played_at:
                continue
            by_end = abs(r.ended_at_ms - played_at) <= MATCH_WINDOW_MS
            # An item dated right at its start beats one dated in its unsure start, before it.
            by_start = (
                claim < r.started_at_ms - MATCH_WINDOW_MS
                and abs(r.started_at_ms - played_at) <= MATCH_WINDOW_MS
            )
            if by_end or by_start:
                r.start_claim_ms = played_at if _provisional(r, played_at) else None
                out.append(self._unseen(uri, track, claim))
                return True
        return False

    def _complete(self, held: _Pending, remembered: _Remembered, played_at: int) -> DetectedPlay:
        """recently-played lists a play whose end we did not see: it ran until played_at (when
        that is its end rather than its start), and Spotify counted it."""
        play = held.play
        start = play["started_at_ms"]
        duration = int(play["track"].get("duration_ms") or 0)
        if played_at > start + MATCH_WINDOW_MS:
            # It kept playing from where it was last seen until played_at (pauses before that
            # were seen and are not heard time).
            more = max(0, played_at - play["ended_at_ms"])
            play["ended_at_ms"] = max(play["ended_at_ms"], played_at)
            heard = play["ms_played"] + more
            play["ms_played"] = min(duration, heard) if duration else heard
        play["counted"] = True
        play["skipped"] = play["ms_played"] < duration - END_SLACK_MS if duration else False
        self._s.pending.remove(held)
        remembered.ended_at_ms = play["ended_at_ms"]
        return DetectedPlay(**play)

    # --- housekeeping -------------------------------------------------------------------------

    def _settle(self, at: int) -> list[DetectedPlay]:
        ready = [p for p in self._s.pending if at - p.latest_end_ms >= SETTLE_MS]
        self._s.pending = [p for p in self._s.pending if p not in ready]
        return [DetectedPlay(**p.play) for p in ready]

    def _forget(self, at: int) -> None:
        horizon = at - REMEMBER_MS
        self._s.remembered = [r for r in self._s.remembered if r.ended_at_ms >= horizon]


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


def _align(costs: list[list[float | None]]) -> list[int | None]:
    """The cheapest order-keeping assignment of items (rows) to plays (columns): costs[i][j]
    is the cost of item i listing play j (None: it cannot); an item left out costs
    UNSEEN_COST. Returns each item's play index, or None for an unseen play."""
    n, m = len(costs), len(costs[0]) if costs else 0
    # cost[i][j]: the cheapest way to place the first i items among the first j plays.
    cost = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        cost[i][0] = i * UNSEEN_COST
        for j in range(1, m + 1):
            best = min(cost[i][j - 1], cost[i - 1][j] + UNSEEN_COST)
            pair = costs[i - 1][j - 1]
            if pair is not None:
                best = min(best, cost[i - 1][j - 1] + pair)
            cost[i][j] = best
    chosen: list[int | None] = [None] * n
    i, j = n, m
    while i > 0:
        pair = costs[i - 1][j - 1] if j > 0 else None
        if j > 0 and cost[i][j] == cost[i][j - 1]:
            j -= 1
        elif pair is not None and cost[i][j] == cost[i - 1][j - 1] + pair:
            chosen[i - 1] = j - 1
            i, j = i - 1, j - 1
        else:
            i -= 1
    return chosen


def _provisional(play: _Open | _Remembered, played_at: int) -> bool:
    """Whether the item dated played_at may instead be the end of an unseen play of the same
    track: it dates the play by its start (or before it, where its start is unsure) and the
    poller was blind before that start."""
    if played_at < play.started_at_ms - MATCH_WINDOW_MS:
        return True  # only in the unsure start of a play first seen after a blind spell
    end = play.ended_at_ms if isinstance(play, _Remembered) else None
    return (
        play.blind_before
        and abs(play.started_at_ms - played_at) <= MATCH_WINDOW_MS
        and (end is None or abs(end - played_at) > MATCH_WINDOW_MS)
    )


def _unsure_start(body: dict[str, Any], started: int, seen_before: int, at: int) -> int | None:
    """First seen after a blind spell, and its state changed after the start we computed (a seek
    while we were not looking): it may have begun any time since we last saw something else."""
    stamp = body.get("timestamp")
    blind = at - seen_before > SEEN_GAP_MS
    if blind and isinstance(stamp, int) and stamp > started + TOLERANCE_MS and seen_before > 0:
        return seen_before
    return None


def _restarted(body: dict[str, Any], progress: int, elapsed: int, at: int) -> bool:
    """Did progress go back because the track started over ("previous"), rather than a seek?

    Spotify's `timestamp` is when the state last changed, so `progress - (at - timestamp)` is
    where playback stood right after the change: 0 for a restart, the target for a seek. Without
    a plausible timestamp, a jump to near the start counts as a restart.
    """
    stamp = body.get("timestamp")
    if isinstance(stamp, int) and at - elapsed - TOLERANCE_MS <= stamp <= at:
        return progress - (at - stamp) <= RESTART_POSITION_MS
    return progress <= RESTART_MS + elapsed


def _pause_time(body: dict[str, Any], at: int) -> int:
    """When playback paused: Spotify's `timestamp` (last state change) when it is plausible."""
    stamp = body.get("timestamp")
    if isinstance(stamp, int) and at - STALE_PAUSE_MS <= stamp <= at:
        return stamp
    return at


def _parse_ms(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return int(parsed.timestamp() * 1000)


def _load(data: dict[str, Any]) -> _State:
    state = _State()
    if data.get("current"):
        state.current = _Open(**data["current"])
    state.remembered = [_Remembered(**r) for r in data.get("remembered", [])]
    state.pending = [_Pending(**p) for p in data.get("pending", [])]
    state.history_seen = [list(h) for h in data.get("history_seen", [])]
    state.last_seen_ms = data.get("last_seen_ms")
    state.history_floor_ms = data.get("history_floor_ms")
    return state
