"""The play-tracking engine: turns what Spotify shows into plays, each real play exactly once.

Pure Python: no Django, no I/O, no clock. Time comes from the observations, in epoch ms.

Input: observations of currently-playing (polled every few seconds) and recently-played (polled
now and then). Output: plays, each emitted once, when it is over ("count on transition"). State
is a plain JSON-serialisable dict (`Tracker.state()`), persisted per account, so any worker can
continue.

- tracker.py: `Tracker`, which routes each observation to the parts below.
- live.py: currently-playing followed as a sequence of states (seeks, pauses, restarts,
  repeat-one, gaps); endings.py: where a play ended and what it was (heard, skipped, counted).
- reconcile.py: recently-played matched with what live tracking saw, without double counting.
- state.py: observations, plays, thresholds, and the persisted state's format.

This module is the engine's public face: import from `scrobbler.tracking`, not from its parts.
"""

from __future__ import annotations

from scrobbler.tracking.state import (
    BLANK_CLOSE_MS,
    END_SLACK_MS,
    MATCH_WINDOW_MS,
    PLAY_MIN_MS,
    REMEMBER_MS,
    RESTART_MS,
    RESTART_POSITION_MS,
    SEEN_GAP_MS,
    SETTLE_MS,
    STALE_PAUSE_MS,
    TOLERANCE_MS,
    UNSEEN_COST,
    DetectedPlay,
    Endpoint,
    Observation,
    brief_track,
    counts_as_play,
)
from scrobbler.tracking.tracker import Tracker

__all__ = [
    "BLANK_CLOSE_MS",
    "END_SLACK_MS",
    "MATCH_WINDOW_MS",
    "PLAY_MIN_MS",
    "REMEMBER_MS",
    "RESTART_MS",
    "RESTART_POSITION_MS",
    "SEEN_GAP_MS",
    "SETTLE_MS",
    "STALE_PAUSE_MS",
    "TOLERANCE_MS",
    "UNSEEN_COST",
    "DetectedPlay",
    "Endpoint",
    "Observation",
    "Tracker",
    "brief_track",
    "counts_as_play",
]
