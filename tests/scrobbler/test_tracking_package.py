"""The tracking engine as a package: still pure, and a state saved by the engine before it
became one (scrobbler/tracking.py at 9062416) loads into today's Tracker, saves back unchanged,
and goes on tracking as the old engine did."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from scrobbler.tracking import DetectedPlay, Observation, Tracker
from tests.scrobbler.test_tracking import T0, A, B, S, cp, rp

C = "spotify:track:" + "C" * 22

# Saved by the single-module engine after: A played from T0 for 60 s, the poller was blind for
# 100 s, B was seen from 160 s (so A's end went unseen: it waits in `pending`), recently-played
# listed an unseen play of C, and B was paused at 172 s. Keep it as it is: it is what accounts
# have in the database.
SAVED_BEFORE_THE_SPLIT: dict[str, Any] = {
    "current": {
        "uri": "spotify:track:BBBBBBBBBBBBBBBBBBBBBB",
        "track": {
            "type": "track",
            "uri": "spotify:track:BBBBBBBBBBBBBBBBBBBBBB",
            "name": "BBB",
            "duration_ms": 200000,
            "artists": [{"name": "N", "uri": "spotify:artist:NNNNNNNNNNNNNNNNNNNNNN"}],
            "album": {
                "name": "Al",
                "uri": "spotify:album:LLLLLLLLLLLLLLLLLLLLLL",
                "release_date": "2020",
                "images": [],
                "artists": [],
            },
        },
        "duration_ms": 200000,
        "started_at_ms": 1772366550000,
        "heard_ms": 22000,
        "last_at_ms": 1772366575000,
        "last_progress_ms": 22000,
        "playing": False,
        "paused_at_ms": 1772366572000,
        "listed": False,
        "blind_before": False,
        "start_claim_ms": None,
        "blank_since_ms": None,
        "earliest_ms": None,
    },
    "remembered": [
        {
            "uri": "spotify:track:AAAAAAAAAAAAAAAAAAAAAA",
            "started_at_ms": 1772366400000,
            "ended_at_ms": 1772366550000,
            "until_ms": 1772366560000,
            "matched": False,
            "earliest_ms": None,
            "blind_before": True,
            "start_claim_ms": None,
        },
        {
            "uri": "spotify:track:CCCCCCCCCCCCCCCCCCCCCC",
            "started_at_ms": 1772366190000,
            "ended_at_ms": 1772366390000,
            "until_ms": 1772366390000,
            "matched": True,
            "earliest_ms": None,
            "blind_before": False,
            "start_claim_ms": None,
        },
    ],
    "pending": [
        {
            "play": {
                "track_uri": "spotify:track:AAAAAAAAAAAAAAAAAAAAAA",
                "track": {
                    "type": "track",
                    "uri": "spotify:track:AAAAAAAAAAAAAAAAAAAAAA",
                    "name": "AAA",
                    "duration_ms": 200000,
                    "artists": [{"name": "N", "uri": "spotify:artist:NNNNNNNNNNNNNNNNNNNNNN"}],
                    "album": {
                        "name": "Al",
                        "uri": "spotify:album:LLLLLLLLLLLLLLLLLLLLLL",
                        "release_date": "2020",
                        "images": [],
                        "artists": [],
                    },
                },
                "started_at_ms": 1772366400000,
                "ended_at_ms": 1772366550000,
                "ms_played": 150000,
                "counted": True,
                "skipped": True,
                "source": "live",
            },
            "latest_end_ms": 1772366550000,
        }
    ],
    "history_seen": [["spotify:track:CCCCCCCCCCCCCCCCCCCCCC", 1772366390000]],
    "last_seen_ms": 1772366575000,
    "history_floor_ms": 1772355590000,
}


def test_a_state_saved_before_the_split_loads_and_saves_back_byte_for_byte() -> None:
    saved = copy.deepcopy(SAVED_BEFORE_THE_SPLIT)
    state = Tracker(saved).state()
    assert state == SAVED_BEFORE_THE_SPLIT
    assert json.dumps(state) == json.dumps(SAVED_BEFORE_THE_SPLIT)  # the keys' order too


def test_a_state_saved_before_the_split_goes_on_tracking_as_before() -> None:
    # B resumes at 202 s and plays on; recently-played then lists C again (already counted) and
    # A by its end at 150 s, which completes A's held play; A follows B at 267 s.
    later: list[Observation] = [
        cp(200 * S, B, 22 * S, playing=False, stamp=172 * S),
        cp(205 * S, B, 25 * S, stamp=202 * S),
        *(cp(t * S, B, (t - 180) * S) for t in range(210, 265, 5)),
        rp(266 * S, (C, -10 * S), (A, 150 * S)),
        cp(270 * S, A, 3 * S),
    ]
    state: dict[str, Any] = copy.deepcopy(SAVED_BEFORE_THE_SPLIT)
    plays: list[DetectedPlay] = []
    for observation in later:
        tracker = Tracker(state)
        plays += tracker.observe(observation)
        state = json.loads(json.dumps(tracker.state()))
    plays += Tracker(state).flush(T0 + 270 * S)
    # What the single-module engine detected from the same state and observations.
    assert [
        (p.track_uri, p.started_at_ms - T0, p.ended_at_ms - T0, p.ms_played, p.counted, p.skipped)
        for p in plays
    ] == [
        (A, 0, 150 * S, 150 * S, True, True),
        (B, 150 * S, 267 * S, 87 * S, True, True),
        (A, 267 * S, 270 * S, 3 * S, False, True),
    ]
    assert {p.source for p in plays} == {"live"}
    assert plays[0].track["album"]["name"] == "Al"  # the held play's track, as it was stored


def test_the_engine_imports_no_django() -> None:
    # A fresh interpreter: in this one, the test run has loaded Django already.
    code = (
        "import sys, scrobbler.tracking; "
        "sys.exit(' '.join(m for m in sys.modules if m.split('.')[0] == 'django') or None)"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
