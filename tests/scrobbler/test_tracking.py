"""The play-tracking engine: hand-written scenarios for each rule, and simulated listeners."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scrobbler.spotify.simulator.history import HistoryOptions
from scrobbler.spotify.simulator.listener import Listener
from scrobbler.spotify.simulator.observe import PollPlan, Score, score, watch
from scrobbler.spotify.simulator.profiles import PROFILES, resolve_profile
from scrobbler.tracking import DetectedPlay, Observation, Tracker

T0 = 1_772_366_400_000
S = 1_000
A, B = "spotify:track:" + "A" * 22, "spotify:track:" + "B" * 22


def track(uri: str, duration: int = 200 * S) -> dict[str, Any]:
    return {"type": "track", "uri": uri, "name": uri[-3:], "duration_ms": duration, "artists": []}


def cp(
    at: int, uri: str | None, progress: int | None = 0, *, playing: bool = True,
    duration: int = 200 * S, stamp: int | None = None, kind: str = "track",
) -> Observation:  # fmt: skip
    if uri is None and kind == "track":
        return Observation(T0 + at, "currently-playing", 204, None)
    body = {
        "timestamp": T0 + (stamp if stamp is not None else at - (progress or 0)),
        "progress_ms": progress,
        "is_playing": playing,
        "currently_playing_type": kind,
        "item": track(uri, duration) if uri else None,
    }
    return Observation(T0 + at, "currently-playing", 200, body)


def rp(at: int, *items: tuple[str, int]) -> Observation:
    from scrobbler.spotify.simulator.times import iso_ms

    body = {
        "items": [{"track": track(uri), "played_at": iso_ms(T0 + played)} for uri, played in items]
    }
    return Observation(T0 + at, "recently-played", 200, body)


def run(*observations: Observation, through_json: bool = True) -> list[DetectedPlay]:
    """Feed the observations, saving and reloading the state between each (as the poller does)."""
    state: dict[str, Any] | None = None
    plays: list[DetectedPlay] = []
    for observation in observations:
        tracker = Tracker(state)
        plays += tracker.observe(observation)
        state = json.loads(json.dumps(tracker.state())) if through_json else tracker.state()
    return plays + Tracker(state).flush(observations[-1].at_ms)


def follow(
    uri: str, start: int, end: int, *, every: int = 5 * S, offset: int = 0
) -> list[Observation]:
    return [cp(t, uri, t - start + offset) for t in range(start, end, every)]


def test_a_play_counts_on_transition_not_while_it_plays() -> None:
    tracker = Tracker()
    for observation in follow(A, 0, 100 * S):
        assert tracker.observe(observation) == []
    (play,) = tracker.observe(cp(102 * S, B, 2 * S))
    assert (play.track_uri, play.started_at_ms, play.ended_at_ms) == (A, T0, T0 + 100 * S)
    assert play.counted
    assert play.skipped  # left with "next" before its end
    assert play.source == "live"


def test_pause_and_resume_is_one_play_and_a_pause_is_never_heard() -> None:
    observations = [
        *follow(A, 0, 60 * S),
        cp(60 * S, A, 58 * S, playing=False, stamp=58 * S),
        cp(200 * S, A, 58 * S, playing=False, stamp=58 * S),
        cp(205 * S, A, 61 * S, stamp=202 * S),
        *[cp(t, A, 61 * S + t - 205 * S) for t in range(210 * S, 345 * S, 5 * S)],
        cp(346 * S, B, 2 * S),
    ]
    (play, _) = run(*observations)
    assert play.track_uri == A
    assert play.ms_played == pytest.approx(200 * S, abs=3 * S)
    assert not play.skipped


def test_a_track_changed_while_paused_ends_at_the_pause() -> None:
    observations = [
        *follow(A, 0, 40 * S),
        cp(40 * S, A, 38 * S, playing=False, stamp=38 * S),
        cp(500 * S, B, 0, playing=False, stamp=499 * S),
        cp(505 * S, B, 4 * S),
    ]
    first = run(*observations)[0]
    assert first.ended_at_ms == T0 + 38 * S
    assert first.ms_played == pytest.approx(38 * S, abs=S)


def test_seeks_make_no_new_play_and_only_heard_time_counts() -> None:
    observations = [
        *follow(A, 0, 30 * S),
        cp(30 * S, A, 120 * S, stamp=29 * S),  # forward to 1:30 after 29 s
        *[cp(t, A, 120 * S + t - 30 * S) for t in range(35 * S, 80 * S, 5 * S)],
        cp(80 * S, B, 1 * S),
    ]
    (play, _) = run(*observations)
    assert play.ms_played == pytest.approx(79 * S, abs=5 * S)
    assert play.ended_at_ms == T0 + 79 * S


def test_repeat_one_is_a_new_play_each_time_round() -> None:
    duration = 60 * S
    observations = [
        cp(t, A, t % duration, duration=duration, stamp=t - t % duration)
        for t in range(0, 181 * S, 5 * S)
    ]
    plays = run(*observations)
    assert [p.track_uri for p in plays] == [A, A, A, A]
    assert [p.started_at_ms - T0 for p in plays[:3]] == [0, 60 * S, 120 * S]
    assert all(p.counted for p in plays[:3])


def test_previous_restarts_the_track_as_a_new_play() -> None:
    observations = [
        *follow(A, 0, 50 * S),
        cp(52 * S, A, 1 * S, stamp=51 * S),
        *follow(A, 51 * S, 120 * S, offset=0),
    ]
    plays = run(*observations)
    assert len(plays) == 2
    assert plays[0].ended_at_ms == T0 + 51 * S
    assert plays[0].skipped


def test_a_short_track_is_caught_between_two_polls() -> None:
    short = 20 * S
    observations = [cp(t, A, t, duration=short) for t in range(0, short, 5 * S)] + follow(
        B, short, 60 * S
    )
    plays = run(*observations)
    assert plays[0].track_uri == A
    assert plays[0].ms_played == pytest.approx(short, abs=S)
    assert not plays[0].counted  # under 30 s
    assert not plays[0].skipped  # it played to its end


def test_ads_and_episodes_are_not_track_plays() -> None:
    observations = [
        *follow(A, 0, 200 * S),
        cp(201 * S, None, 1 * S, kind="ad", stamp=200 * S),
        cp(231 * S, None, 1 * S, kind="episode", stamp=230 * S),
        cp(400 * S, None),
    ]
    plays = run(*observations)
    assert [p.track_uri for p in plays] == [A]


def test_a_device_switch_mid_track_stays_one_play() -> None:
    observations = [
        *follow(A, 0, 50 * S),
        cp(51 * S, None, None, kind="unknown", stamp=50 * S),  # the transfer gap: no item
        *[cp(t, A, t - 2 * S) for t in range(55 * S, 150 * S, 5 * S)],
        cp(152 * S, B, 1 * S),
    ]
    plays = run(*observations)
    assert [p.track_uri for p in plays] == [A, B]


def test_a_gap_with_consistent_progress_is_bridged() -> None:
    observations = [
        *follow(A, 0, 30 * S),
        *follow(A, 90 * S, 150 * S, offset=90 * S),
        cp(152 * S, B, 1 * S),
    ]
    (play, _) = run(*observations)
    assert play.ms_played == pytest.approx(150 * S, abs=3 * S)


def test_recently_played_never_adds_a_play_seen_live_whether_played_at_is_end_or_start() -> None:
    observations = [
        *follow(A, 0, 100 * S),
        *follow(B, 100 * S, 300 * S),
        cp(301 * S, A, 1 * S),
        rp(305 * S, (A, 100 * S), (B, 100 * S)),  # A dated by its end, B by its start
        rp(900 * S, (A, 100 * S), (B, 100 * S)),  # the same answer again
    ]
    plays = run(*observations)
    assert [(p.track_uri, p.source) for p in plays] == [(A, "live"), (B, "live"), (A, "live")]


def test_plays_the_poller_missed_are_recovered_from_recently_played() -> None:
    observations = [
        *follow(A, 0, 100 * S),
        cp(101 * S, B, 1 * S),
        rp(3_000 * S, (A, 100 * S), (B, 2_000 * S)),
    ]
    plays = run(*observations)
    recovered = [p for p in plays if p.source == "history"]
    assert [(p.track_uri, p.ended_at_ms - T0) for p in recovered] == [(B, 2_000 * S)]


def test_a_track_seeked_to_its_end_after_two_seconds_is_one_uncounted_play() -> None:
    observations = [
        cp(0, A, 0),
        cp(2 * S, A, 199 * S, stamp=2 * S),
        cp(5 * S, B, 2 * S),
        rp(300 * S, (A, 3 * S)),  # Spotify lists it anyway (web-api #1376)
    ]
    plays = [p for p in run(*observations) if p.track_uri == A]
    assert len(plays) == 1
    assert not plays[0].counted


def test_state_survives_json_between_every_observation() -> None:
    listener = Listener("json", resolve_profile("mixed"), T0)
    watched = watch(listener, start_ms=T0, end_ms=T0 + 2 * 3_600_000, plan=PollPlan(), seed=3)
    assert run(*watched.observations, through_json=True) == run(
        *watched.observations, through_json=False
    )


# Derandomized so CI is repeatable: a seek back to within 50 ms of the start is read as a restart
# (the one ambiguity the observations cannot settle), and a random draw may hit one.
@settings(
    max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    seed=st.integers(min_value=0, max_value=10_000),
    profile=st.sampled_from(sorted(PROFILES)),
    error_rate=st.sampled_from([0.0, 0.05, 0.2]),
)
def test_simulated_listeners_every_observable_play_once(
    seed: int, profile: str, error_rate: float
) -> None:
    listener = Listener(str(seed), resolve_profile(profile), T0)
    end = T0 + 2 * 3_600_000
    watched = watch(
        listener, start_ms=T0, end_ms=end, plan=PollPlan(error_rate=error_rate), seed=seed
    )
    tracker = Tracker()
    detected = [p for o in watched.observations for p in tracker.observe(o)] + tracker.flush(end)
    result: Score = score(listener, watched, detected, start_ms=T0, end_ms=end)
    assert result.duplicates == 0
    assert result.recall >= 0.97
    assert result.precision >= 0.97
    close = [e for e in result.ms_errors if e <= 5_000]
    assert len(close) >= 0.9 * len(result.ms_errors)


def test_history_quirks_do_not_create_duplicates_for_steady_listening() -> None:
    listener = Listener("quirks", resolve_profile("steady"), T0)
    end = T0 + 4 * 3_600_000
    history = HistoryOptions(
        played_at_start_fraction=0.3, delay_tracks=3, drop_next_after_30s_fraction=0.5
    )
    watched = watch(listener, start_ms=T0, end_ms=end, plan=PollPlan(), history=history, seed=1)
    tracker = Tracker()
    detected = [p for o in watched.observations for p in tracker.observe(o)] + tracker.flush(end)
    result = score(listener, watched, detected, start_ms=T0, end_ms=end)
    assert result.duplicates == 0
    assert result.f1 >= 0.995


def test_a_ratio_rule_counts_short_tracks_heard_mostly() -> None:
    short = 20 * S
    observations = [cp(t, A, t, duration=short) for t in range(0, short, 5 * S)] + follow(
        B, short, 40 * S
    )
    tracker = Tracker(play_min_ratio=0.5)
    plays = [p for o in observations for p in tracker.observe(o)]
    assert plays[0].track_uri == A
    assert plays[0].counted


def test_a_paused_play_resumed_unseen_is_matched_by_history_before_it_closes() -> None:
    observations = [
        *follow(A, 0, 60 * S),
        cp(60 * S, A, 58 * S, playing=False, stamp=58 * S),
        # Blind from here; meanwhile A resumed at 600 s and finished at 742 s.
        rp(2_000 * S, (A, 742 * S)),  # history answers before currently-playing does
        cp(2_005 * S, B, 3 * S),
    ]
    plays = run(*observations)
    assert [(p.track_uri, p.source) for p in plays] == [(A, "live"), (B, "live")]
