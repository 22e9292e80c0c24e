"""How a live play ends, and what it was when it did.

Contract: `Endings` closes the play in progress (the state's `current`) when currently-playing
shows another track (`track_changed`), an ad or an episode (`something_else`), or nothing
(`nothing_playing`, for 204s), when live tracking sees it start over (`close`), or at the end of
a replayed log (`finish`). Closing decides where it ended, how much of it was heard, whether it
finished or was skipped and whether it counts as a play, then hands it to the reconciliation
(reconcile.py), which emits it or holds it back when its end was not seen. Pure Python: no
Django, no I/O, no clock.

- Another track: the play ended when the new one began, or at its own natural end if sooner;
  a play left paused ended at the pause.
- An ad or an episode: when that began (Spotify's `timestamp`), or at the natural end.
- Nothing playing: at the natural end once that has passed; one empty answer may be a glitch,
  empty answers for BLANK_CLOSE_MS mean playback stopped. A pause not seen for STALE_PAUSE_MS
  is over.
- An end seen within SEEN_GAP_MS of the last sight is seen; after a longer blind spell other
  tracks may have played in between, so recently-played has a say.
"""

from __future__ import annotations

from typing import Any

from scrobbler.tracking.reconcile import Reconciler
from scrobbler.tracking.state import (
    BLANK_CLOSE_MS,
    END_SLACK_MS,
    SEEN_GAP_MS,
    STALE_PAUSE_MS,
    TOLERANCE_MS,
    DetectedPlay,
    OpenPlay,
    State,
    counts_as_play,
)


class Endings:
    """Closes the play in progress; shares the state with the rest of the Tracker."""

    def __init__(
        self,
        state: State,
        history: Reconciler,
        *,
        play_min_ms: int,
        play_min_ratio: float | None,
    ) -> None:
        self._s = state
        self._history = history  # takes each play as it closes
        self.play_min_ms = play_min_ms
        self.play_min_ratio = play_min_ratio

    def finish(self, at_ms: int) -> list[DetectedPlay]:
        """Close the open play as last seen: at its pause, or where it was last seen playing."""
        current = self._s.current
        if current is None:
            return []
        out = self.close(
            current,
            end_ms=current.paused_at_ms or current.last_at_ms,
            seen_end=True,
            until_ms=at_ms,
        )
        self._s.current = None
        return out

    def track_changed(
        self, current: OpenPlay, at: int, *, new_progress: int, new_playing: bool, new_stamp: Any
    ) -> tuple[list[DetectedPlay], int]:
        """Another track is playing: end the current play; returns the plays and its end."""
        if not current.playing:
            end = current.paused_at_ms or current.last_at_ms
            return self.close(current, end_ms=end, seen_end=True, skipped=None, until_ms=at), end
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
        return self.close(current, end_ms=end, seen_end=seen, skipped=None, until_ms=at), end

    def something_else(self, body: dict[str, Any] | None, at: int) -> list[DetectedPlay]:
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
        return self.close(current, end_ms=end, seen_end=seen, until_ms=at)

    def nothing_playing(self, at: int) -> list[DetectedPlay]:
        """An empty answer (204): the play is over once it must have finished, after empty
        answers for BLANK_CLOSE_MS, or when its pause went stale."""
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
                return self.close(
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
            return self.close(current, end_ms=current.last_at_ms, seen_end=False, until_ms=at)
        if at - (current.paused_at_ms or current.last_at_ms) > STALE_PAUSE_MS:
            self._s.current = None
            return self.close(
                current,
                end_ms=current.paused_at_ms or current.last_at_ms,
                seen_end=True,
                until_ms=at,
            )
        return []

    def close(
        self,
        current: OpenPlay,
        *,
        end_ms: int,
        seen_end: bool,
        skipped: bool | None = None,
        until_ms: int | None = None,
    ) -> list[DetectedPlay]:
        """Turn the open play into a DetectedPlay and hand it over to the reconciliation, which
        emits it, or holds it back when its end was not seen."""
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
        return self._history.hand_over(
            current, play, end_ms=end_ms, seen_end=seen_end, until_ms=until_ms
        )

    def _counts(self, heard: int, duration: int) -> bool:
        return counts_as_play(heard, duration, self.play_min_ms, self.play_min_ratio)
