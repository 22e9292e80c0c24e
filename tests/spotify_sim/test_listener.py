"""The listener's timeline and ground truth (pure core)."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spotify_sim.listener import Listener
from spotify_sim.profiles import PROFILES, resolve_profile

START = datetime(2026, 3, 1, 12, tzinfo=UTC)
HOUR = 3_600_000

seeds = st.integers(min_value=0, max_value=10_000)
profiles = st.sampled_from(sorted(PROFILES))
hours = st.integers(min_value=1, max_value=8)
fast = settings(max_examples=40, deadline=None)


def generated(seed: int, profile: str, span_h: int) -> Listener:
    listener = Listener(seed, profile, START)
    listener.extend_to(listener.start_ms + span_h * HOUR)
    return listener


@fast
@given(seeds, profiles, hours)
def test_segments_are_contiguous_from_the_start(seed: int, profile: str, span_h: int) -> None:
    listener = generated(seed, profile, span_h)
    segments = listener.segments(START, START + timedelta(hours=span_h))
    assert segments[0].start_ms == listener.start_ms
    for before, after in itertools.pairwise(segments):
        assert before.end_ms == after.start_ms
        assert before.start_ms < before.end_ms


@fast
@given(seeds, profiles, hours)
def test_plays_never_overlap_and_come_in_order(seed: int, profile: str, span_h: int) -> None:
    listener = generated(seed, profile, span_h)
    plays = listener.plays(START, START + timedelta(hours=span_h))
    assert plays
    for before, after in itertools.pairwise(plays):
        assert before.ended_at_ms <= after.started_at_ms
        assert after.index == before.index + 1
    assert all(play.started_at_ms <= play.ended_at_ms for play in plays)


@fast
@given(seeds, profiles, hours)
def test_heard_time_of_each_play_is_the_playing_time_of_its_segments(
    seed: int, profile: str, span_h: int
) -> None:
    listener = generated(seed, profile, span_h)
    end = listener.start_ms + span_h * HOUR
    plays = listener.plays(listener.start_ms, end)
    segments = listener.segments(listener.start_ms, plays[-1].ended_at_ms)
    heard = Counter[int]()
    for segment in segments:
        if segment.heard and segment.play is not None:
            heard[segment.play] += segment.end_ms - segment.start_ms
    assert {play.index: play.ms_played for play in plays} == {
        play.index: heard[play.index] for play in plays
    }
    assert sum(play.ms_played for play in plays) == sum(heard.values())


@fast
@given(seeds, profiles, hours)
def test_ms_played_is_at_most_the_duration_unless_rewound(
    seed: int, profile: str, span_h: int
) -> None:
    for play in generated(seed, profile, span_h).plays(START, START + timedelta(hours=span_h)):
        assert 0 <= play.ms_played <= play.duration_ms + play.rewound_ms
        if play.rewound_ms == 0:
            assert play.ms_played <= play.duration_ms


@fast
@given(seeds, profiles, hours)
def test_plays_that_finish_reach_the_end_of_the_track(seed: int, profile: str, span_h: int) -> None:
    for play in generated(seed, profile, span_h).plays(START, START + timedelta(hours=span_h)):
        position = play.ms_played + play.skipped_ahead_ms - play.rewound_ms
        if play.end_reason in ("finished", "loop"):
            assert position == play.duration_ms
        else:
            assert position <= play.duration_ms


@fast
@given(seeds, profiles, hours)
def test_progress_runs_on_within_a_play_except_at_seeks(
    seed: int, profile: str, span_h: int
) -> None:
    listener = generated(seed, profile, span_h)
    segments = listener.segments(START, START + timedelta(hours=span_h))
    for before, after in itertools.pairwise(segments):
        same_play = before.play is not None and before.play == after.play
        moved = after.cause == "seek" or "unknown" in (before.kind, after.kind)
        if same_play and not moved:
            assert after.progress_ms == before.progress_at(before.end_ms)
        if after.cause == "seek":
            assert same_play


@fast
@given(seeds, profiles, st.lists(st.integers(0, 6 * HOUR), min_size=1, max_size=30))
def test_the_same_seed_gives_the_same_timeline_whatever_the_query_order(
    seed: int, profile: str, offsets: list[int]
) -> None:
    forwards, backwards = Listener(seed, profile, START), Listener(seed, profile, START)
    moments = [forwards.start_ms + offset for offset in offsets]
    states = {t: forwards.state_at(t) for t in sorted(moments)}
    assert all(backwards.state_at(t) == states[t] for t in sorted(moments, reverse=True))
    end = forwards.start_ms + 6 * HOUR
    assert forwards.plays(START, end) == backwards.plays(START, end)


@fast
@given(seeds, profiles, st.integers(0, 4 * HOUR))
def test_state_at_agrees_with_a_scan_of_the_segments(seed: int, profile: str, offset: int) -> None:
    listener = generated(seed, profile, 5)
    at = listener.start_ms + offset
    segment = next(s for s in listener.segments(START, at + 1) if s.start_ms <= at < s.end_ms)
    state = listener.state_at(at)
    if segment.kind == "idle":
        assert state is None
    else:
        assert state is not None
        assert state.segment == segment
        assert state.timestamp_ms == segment.start_ms
        assert state.progress_ms == segment.progress_at(at)


def test_nothing_plays_before_the_start() -> None:
    listener = Listener(1, "steady", START)
    assert listener.state_at(START - timedelta(seconds=1)) is None
    assert listener.state_at(START) is not None


def test_state_at_stays_fast_on_a_long_timeline() -> None:
    listener = Listener(3, "mixed", START)
    week = 7 * 24 * HOUR
    listener.extend_to(listener.start_ms + week)
    began = time.perf_counter()
    for step in range(20_000):
        listener.state_at(listener.start_ms + step * (week // 20_000))
    assert time.perf_counter() - began < 1.0


def behaviour(profile: str) -> tuple[Counter[str], Counter[str], Counter[str], int]:
    """Segment causes, segment kinds and play end reasons over 12 h of three listeners, and the
    number of private plays."""
    causes, kinds, reasons, private = Counter[str](), Counter[str](), Counter[str](), 0
    for seed in range(3):
        listener = generated(seed, profile, 12)
        for segment in listener.segments(START, START + timedelta(hours=12)):
            causes[segment.cause] += 1
            kinds[segment.kind] += 1
        for play in listener.plays(START, START + timedelta(hours=12)):
            reasons[play.end_reason] += 1
            private += play.private
    return causes, kinds, reasons, private


def test_steady_listener_mostly_plays_tracks_to_the_end() -> None:
    _, _, reasons, _ = behaviour("steady")
    assert reasons["finished"] > 0.9 * sum(reasons.values())


def test_skipper_leaves_many_tracks_with_next_early_and_late() -> None:
    listener = generated(0, "skipper", 12)
    skips = [
        p for p in listener.plays(START, START + timedelta(hours=12)) if p.end_reason == "next"
    ]
    assert len(skips) > 50
    assert any(p.ms_played < 30_000 for p in skips)
    assert any(p.ms_played > 30_000 for p in skips)


def test_pauser_pauses_resumes_and_changes_track_while_paused() -> None:
    causes, _, _, _ = behaviour("pauser")
    assert causes["pause"] > 20
    assert causes["resume"] > 10
    listener = generated(0, "pauser", 12)
    segments = listener.segments(START, START + timedelta(hours=12))
    # A track changed while paused starts paused: a "next" segment that is not playing.
    assert any(s.cause == "next" and not s.is_playing for s in segments)


def test_seeker_seeks_both_ways_and_to_the_end() -> None:
    causes, _, _, _ = behaviour("seeker")
    assert causes["seek"] > 20
    plays = [
        p
        for seed in range(3)
        for p in generated(seed, "seeker", 12).plays(START, START + timedelta(hours=12))
    ]
    assert any(p.rewound_ms > 0 for p in plays)
    assert any(p.skipped_ahead_ms > 0 and p.end_reason == "finished" for p in plays)


def test_repeat_one_loops_the_same_track_and_restarts_with_previous() -> None:
    listener = generated(0, "repeat_one", 12)
    plays = listener.plays(START, START + timedelta(hours=12))
    loops = [(a, b) for a, b in itertools.pairwise(plays) if a.end_reason == "loop"]
    assert loops
    assert all(a.track_uri == b.track_uri and a.ended_at_ms == b.started_at_ms for a, b in loops)
    restarts = [(a, b) for a, b in itertools.pairwise(plays) if a.end_reason == "previous"]
    assert restarts
    assert all(a.track_uri == b.track_uri for a, b in restarts)
    segments = listener.segments(START, START + timedelta(hours=12))
    assert any(s.repeat == "track" for s in segments)


def test_device_hopper_moves_playback_between_devices_mid_track() -> None:
    causes, kinds, _, _ = behaviour("device_hopper")
    assert causes["device"] > 20
    assert kinds["unknown"] > 0  # the short item-less state while playback moves
    listener = generated(0, "device_hopper", 12)
    segments = listener.segments(START, START + timedelta(hours=12))
    switches = [
        (a, b) for a, b in itertools.pairwise(segments) if b.cause == "device" and a.play == b.play
    ]
    assert any(a.device != b.device for a, b in switches)


def test_mixed_listener_does_everything() -> None:
    causes, kinds, reasons, private = behaviour("mixed")
    assert {"track", "local", "episode", "ad", "idle"} <= set(kinds)
    assert private > 0
    assert {"next", "previous", "loop", "finished"} <= set(reasons)
    assert {"pause", "seek", "device", "ad", "idle"} <= set(causes)


def test_private_session_plays_have_private_segments() -> None:
    listener = Listener(5, {"base": "steady", "private": 0.3}, START)
    plays = listener.plays(START, START + timedelta(hours=6))
    private = [play for play in plays if play.private]
    assert private
    segments = listener.segments(START, START + timedelta(hours=6))
    assert all(s.private for s in segments if s.play in {p.index for p in private})


def test_profile_overrides_change_only_the_named_fields() -> None:
    profile = resolve_profile({"base": "skipper", "ad": 0.5, "pause_s": [1, 2]})
    assert profile.skip == PROFILES["skipper"].skip
    assert (profile.ad, profile.pause_s) == (0.5, (1, 2))
    with pytest.raises(ValueError, match="unknown profile fields"):
        resolve_profile({"base": "skipper", "bogus": 1})
    with pytest.raises(ValueError, match="unknown profile"):
        resolve_profile("nope")
