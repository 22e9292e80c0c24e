"""The Tracker: one account's play-tracking engine, fed observations in time order.

Contract: `Tracker(state).observe(observation)` returns the plays that just became final, each
real listen exactly once; `state()` is the plain JSON-serialisable dict to persist and pass to
the next Tracker (so any worker can continue); `flush(at)` ends a replayed stream. Observations
that tell nothing (network errors, 429, 5xx) are ignored. Pure Python: no Django, no I/O, no
clock. The work is done by live.py and endings.py (currently-playing) and reconcile.py
(recently-played), which share the state.
"""

from __future__ import annotations

from typing import Any

from scrobbler.tracking.endings import Endings
from scrobbler.tracking.live import Live
from scrobbler.tracking.reconcile import Reconciler
from scrobbler.tracking.state import PLAY_MIN_MS, DetectedPlay, Observation, state_dump, state_load


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
        self._s = state_load(state or {})
        self._history = Reconciler(self._s)
        self._ends = Endings(
            self._s, self._history, play_min_ms=play_min_ms, play_min_ratio=play_min_ratio
        )
        self._live = Live(self._s, self._ends)

    def state(self) -> dict[str, Any]:
        return state_dump(self._s)

    def observe(self, observation: Observation) -> list[DetectedPlay]:
        out: list[DetectedPlay] = []
        at = observation.at_ms
        if observation.endpoint == "recently-played":
            if observation.status == 200 and isinstance(observation.body, dict):
                out += self._history.reconcile(observation.body.get("items") or [], at)
        elif observation.status in (200, 204):
            out += self._live.observe(observation.body if observation.status == 200 else None, at)
            self._s.last_seen_ms = at
        out += self._history.settle(at)
        self._history.forget(at)
        return out

    def flush(self, at_ms: int) -> list[DetectedPlay]:
        """End of the stream (a replay): close the open play as last seen, emit what waits."""
        return self._ends.finish(at_ms) + self._history.release()
