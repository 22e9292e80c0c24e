"""Live tracking: currently-playing answers, followed as a sequence of states, make plays.

Contract: `Live.observe(body, at)` takes one currently-playing answer (the body of a 200, or None
for a 204) at `at` (epoch ms) and returns the plays that ended; where and how a play ends is
endings.py's part. Pure Python: no Django, no I/O, no clock.

- Between two observations of the same track, progress that moved as much as the time that
  passed is heard time; a jump forward or back is a seek (the time that passed still counts as
  heard); progress that wrapped past the end is repeat-one (a new play); a jump back to near the
  start is a restart (a new play). Pauses add nothing.
- The next real answer after a gap is compared with the last, so gaps are bridged when progress
  is consistent. A play first seen part-way was heard as far as its progress, but for no longer
  than since something else was last seen; after a blind spell its start may be unsure.
"""

from __future__ import annotations

from typing import Any

from scrobbler.tracking.endings import Endings
from scrobbler.tracking.state import (
    END_SLACK_MS,
    RESTART_MS,
    RESTART_POSITION_MS,
    SEEN_GAP_MS,
    STALE_PAUSE_MS,
    TOLERANCE_MS,
    DetectedPlay,
    OpenPlay,
    State,
    brief_track,
)


class Live:
    """The currently-playing half of a Tracker: reads and changes the state it shares."""

    def __init__(self, state: State, ends: Endings) -> None:
        self._s = state
        self._ends = ends

    def observe(self, body: dict[str, Any] | None, at: int) -> list[DetectedPlay]:
        """One currently-playing answer (None: a 204) seen at `at`; returns the plays it ended."""
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
            return self._ends.something_else(body, at) if other else self._ends.nothing_playing(at)
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
            out = self._ends.track_changed(
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
        self._s.current = OpenPlay(
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
        current: OpenPlay,
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
        current: OpenPlay,
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
        out = self._ends.close(current, end_ms=end, seen_end=seen_end, skipped=skipped, until_ms=at)
        self._start(
            item, current.uri, current.duration_ms, progress, playing, at, body, previous_end=end
        )
        return out


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
