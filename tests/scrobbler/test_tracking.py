"""The play-tracking engine: hand-written scenarios for each rule, and simulated listeners."""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scrobbler.simulated import PollPlan, Score, score, watch
from scrobbler.tracking import DetectedPlay, Observation, Tracker
from spotify_sim.history import HistoryOptions
from spotify_sim.listener import Listener
from spotify_sim.profiles import PROFILES, resolve_profile

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
    from spotify_sim.times import iso_ms

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


# Simulated listeners per property test (each one to three hours of listening).
LISTENERS = 200


# Derandomized so CI is repeatable.
@settings(
    max_examples=LISTENERS,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
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
    end = T0 + 3_600_000
    watched = watch(
        listener, start_ms=T0, end_ms=end, plan=PollPlan(error_rate=error_rate), seed=seed
    )
    tracker = Tracker()
    detected = [p for o in watched.observations for p in tracker.observe(o)] + tracker.flush(end)
    result: Score = score(listener, watched, detected, start_ms=T0, end_ms=end)
    assert result.duplicates == 0
    assert result.truth - result.matched <= 1
    assert result.detected == result.matched
    # ms_played is off by at most what fell in the polling gaps at its start and end (failed
    # polls widen them), and usually by nothing.
    answered = [o.at_ms for o in watched.observations if o.status in (200, 204)]
    widest_gap = max(b - a for a, b in pairwise(answered))
    errors = sorted(result.ms_errors)
    assert errors[len(errors) // 2] <= 1_000
    assert sum(e > 2 * widest_gap for e in errors) <= 1


@settings(
    max_examples=LISTENERS,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(seed=st.integers(min_value=0, max_value=10_000), profile=st.sampled_from(sorted(PROFILES)))
def test_simulated_listeners_with_blind_spells_and_history_quirks(seed: int, profile: str) -> None:
    # What bench/tracking.py --hard does: failed polls, the poller down twice, and
    # recently-played dating some plays by their start, late, and leaving some out.
    listener = Listener(str(seed), resolve_profile(profile), T0)
    end = T0 + 2 * 3_600_000
    plan = PollPlan(
        error_rate=0.05,
        blind=((T0 + 1_200_000, T0 + 2_400_000), (T0 + 4_200_000, T0 + 6_000_000)),
    )
    history = HistoryOptions(
        played_at_start_fraction=0.2,
        delay_tracks=2,
        drop_next_after_30s_fraction=0.3,
        seeked_to_end_listed_fraction=0.5,
    )
    watched = watch(listener, start_ms=T0, end_ms=end, plan=plan, history=history, seed=seed)
    tracker = Tracker()
    detected = [p for o in watched.observations for p in tracker.observe(o)] + tracker.flush(end)
    result = score(listener, watched, detected, start_ms=T0, end_ms=end)
    # Blind spells leave a few cases the observations cannot settle (say, a play first seen
    # after one, seeked back to its first seconds meanwhile, with an item dated at its true
    # start): rare (bench/tracking.py --hard --listeners 40: F1 0.9996), so a few per
    # listener at most; the bench gives the rates.
    assert result.duplicates <= 2
    assert result.truth - result.matched <= 2
    assert result.detected - result.matched - result.duplicates <= 1


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


def test_two_items_sharing_a_played_at_are_two_plays_stored_apart() -> None:
    # Repeat-one while the poller was down: the first play is dated by its end, the second by
    # its start, and both say 400 s.
    plays = run(cp(0, None), rp(1_000 * S, (A, 400 * S), (A, 400 * S)))
    assert [(p.source, p.started_at_ms - T0, p.ended_at_ms - T0) for p in plays] == [
        ("history", 200 * S, 400 * S),
        ("history", 400 * S, 600 * S),
    ]


def test_back_to_back_plays_of_one_track_match_their_items_in_order() -> None:
    # Seen live: A four times (repeat-one, then "next" after 50 s), then B. recently-played
    # dates the first two by their ends and the last two by their starts: two items say 400 s,
    # and each must find its own play without inventing a fifth.
    observations = [
        *follow(A, 0, 200 * S),
        *follow(A, 200 * S, 400 * S),
        *follow(A, 400 * S, 600 * S),
        *follow(A, 600 * S, 650 * S),
        *follow(B, 650 * S, 700 * S),
        rp(700 * S, (A, 200 * S), (A, 400 * S), (A, 400 * S), (A, 600 * S)),
    ]
    plays = run(*observations)
    assert [(p.track_uri, p.source) for p in plays] == [(A, "live")] * 4 + [(B, "live")]


def blind_repeat_one(*answers: Observation) -> list[DetectedPlay]:
    """A played [0, 200 s] unseen and again [200, 400 s], first seen at 350 s; then B."""
    return run(*follow(A, 350 * S, 400 * S, offset=150 * S), *follow(B, 400 * S, 700 * S), *answers)


def test_an_item_at_the_start_of_a_play_seen_after_a_blind_spell_waits_for_its_end() -> None:
    # 200 s is either the unseen play's end or the live play's start: only a later item at the
    # live play's end settles it, and then the unseen play is recovered.
    plays = blind_repeat_one(rp(500 * S, (A, 200 * S)), rp(700 * S, (A, 200 * S), (A, 400 * S)))
    assert sorted((p.source, p.ended_at_ms - T0) for p in plays if p.track_uri == A) == [
        ("history", 200 * S),
        ("live", 400 * S),
    ]


def test_an_item_at_the_start_of_a_play_seen_after_a_blind_spell_may_be_just_that() -> None:
    plays = blind_repeat_one(rp(500 * S, (A, 200 * S)), rp(700 * S, (A, 200 * S)))
    assert [(p.track_uri, p.source) for p in plays] == [(A, "live"), (B, "live")]


def test_a_restart_seen_after_a_blind_spell_ends_the_old_play_where_the_track_ran_out() -> None:
    # A (200 s) was last seen at 95 s; after the blind spell it was restarted at 970 s. The old
    # play ended by itself at 200 s, not at the restart.
    observations = [*follow(A, 0, 100 * S), cp(1_000 * S, A, 30 * S, stamp=970 * S)]
    plays = run(*observations)
    assert sorted((p.started_at_ms - T0, p.ended_at_ms - T0) for p in plays) == [
        (0, 200 * S),
        (970 * S, 1_000 * S),
    ]


def test_a_play_first_seen_paused_began_before_its_pause() -> None:
    # Paused at 10 s since 300 s: it began at 290 s, however late the poller looks.
    observations = [
        cp(500 * S, A, 10 * S, playing=False, stamp=300 * S),
        *follow(A, 510 * S, 700 * S, offset=10 * S),
        *follow(B, 700 * S, 750 * S),
    ]
    plays = run(*observations)
    assert plays[0].started_at_ms - T0 == 290 * S
