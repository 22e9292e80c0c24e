"""What recently-played lists, and its quirks (pure core)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spotify_sim.history import HistoryEntry, HistoryOptions
from spotify_sim.listener import Listener
from spotify_sim.profiles import PROFILES
from spotify_sim.timeline import Play

START = datetime(2026, 3, 1, 12, tzinfo=UTC)
HOUR = 3_600_000


def listener(profile: str = "mixed", seed: int = 7) -> Listener:
    return Listener(seed, profile, START)


def ended_plays(source: Listener, at: int) -> list[Play]:
    return [p for p in source.plays(source.start_ms, at) if p.ended_at_ms <= at]


def test_lists_only_tracks_heard_for_30s_newest_first_ending_when_they_ended() -> None:
    source = listener("skipper")
    at = source.start_ms + 3 * HOUR
    page = source.recently_played(at, limit=50)
    expected = [
        p
        for p in ended_plays(source, at)
        if p.kind == "track" and not p.private and p.ms_played >= 30_000
    ][::-1][:50]
    assert [entry.play for entry in page.items] == expected
    assert all(entry.played_at_ms == entry.play.ended_at_ms for entry in page.items)


def test_local_files_episodes_and_private_plays_are_never_listed() -> None:
    source = listener("mixed", seed=3)
    at = source.start_ms + 12 * HOUR
    plays = ended_plays(source, at)
    hidden = [p for p in plays if p.kind != "track" or p.private]
    assert {p.kind for p in hidden} >= {"local", "episode"}
    assert any(p.private for p in hidden)
    assert not any(source.is_listed(p, HistoryOptions()) for p in hidden)


def test_at_most_the_50_newest_are_reachable() -> None:
    source = listener("steady")
    at = source.start_ms + 24 * HOUR
    page = source.recently_played(at, limit=50)
    assert len(page.items) == 50
    assert not page.has_more
    oldest = page.items[-1].played_at_ms
    assert source.recently_played(at, limit=50, before=oldest).items == ()


def test_limit_and_before_page_back_through_the_window() -> None:
    source = listener("steady")
    at = source.start_ms + 24 * HOUR
    seen: list[HistoryEntry] = []
    before = None
    while True:
        page = source.recently_played(at, limit=7, before=before)
        seen += page.items
        if not page.has_more:
            break
        before = page.items[-1].played_at_ms
    assert seen == list(source.recently_played(at, limit=50).items)


def test_after_returns_the_items_just_after_the_cursor_so_polling_misses_none() -> None:
    source = listener("steady")
    at = source.start_ms + 24 * HOUR
    window = source.recently_played(at, limit=50).items
    cursor = window[30].played_at_ms
    page = source.recently_played(at, limit=10, after=cursor)
    assert page.items == window[20:30]
    assert page.has_more
    page = source.recently_played(at, limit=50, after=page.items[0].played_at_ms)
    assert page.items == window[:20]
    assert not page.has_more


def test_played_at_is_the_start_of_the_play_for_the_configured_share() -> None:
    source = listener("steady")
    at = source.start_ms + 24 * HOUR
    options = HistoryOptions(played_at_start_fraction=0.5)
    items = source.recently_played(at, limit=50, options=options).items
    at_start = [e for e in items if e.played_at_ms == e.play.started_at_ms]
    assert 10 < len(at_start) < 40
    assert all(e.played_at_ms in (e.play.started_at_ms, e.play.ended_at_ms) for e in items)


def test_items_appear_only_after_later_tracks_have_played() -> None:
    source = listener("steady")
    options = HistoryOptions(delay_tracks=2)
    plays = ended_plays(source, source.start_ms + 2 * HOUR)
    target = plays[5]

    def newest(at: int) -> Play:
        return source.recently_played(at, limit=1, options=options).items[0].play

    assert newest(plays[6].ended_at_ms).index < target.index
    assert newest(plays[7].ended_at_ms).index == target.index


def test_items_appear_after_a_delay_in_seconds() -> None:
    source = listener("steady")
    options = HistoryOptions(delay_s=120)
    play = ended_plays(source, source.start_ms + HOUR)[3]

    def listed(at: int) -> set[int]:
        return {e.play.index for e in source.recently_played(at, limit=50, options=options).items}

    assert play.index not in listed(play.ended_at_ms + 119_000)
    assert play.index in listed(play.ended_at_ms + 120_000)


def test_some_tracks_left_with_next_after_30s_are_missing() -> None:
    source = listener("skipper")
    options = HistoryOptions(drop_next_after_30s_fraction=0.5)
    late_skips = [
        p
        for p in ended_plays(source, source.start_ms + 12 * HOUR)
        if p.end_reason == "next" and p.ms_played > 30_000 and p.kind == "track" and not p.private
    ]
    missing = [p for p in late_skips if not source.is_listed(p, options)]
    assert 0 < len(missing) < len(late_skips)
    assert all(source.is_listed(p, HistoryOptions()) for p in late_skips)


def test_tracks_seeked_to_their_end_after_seconds_can_be_listed() -> None:
    source = listener("seeker")
    options = HistoryOptions(seeked_to_end_listed_fraction=1.0)
    short_seeked = [
        p
        for p in ended_plays(source, source.start_ms + 24 * HOUR)
        if p.kind == "track"
        and p.ms_played < 30_000
        and p.skipped_ahead_ms
        and p.end_reason == "finished"
    ]
    assert short_seeked
    assert all(source.is_listed(p, options) for p in short_seeked)
    assert not any(source.is_listed(p, HistoryOptions()) for p in short_seeked)


def test_limit_outside_1_to_50_and_both_cursors_are_refused() -> None:
    source = listener()
    with pytest.raises(ValueError, match="limit"):
        source.recently_played(source.start_ms, limit=51)
    with pytest.raises(ValueError, match="only one"):
        source.recently_played(source.start_ms, after=1, before=2)


options_strategy = st.builds(
    HistoryOptions,
    played_at_start_fraction=st.floats(0, 1),
    delay_tracks=st.integers(0, 4),
    delay_s=st.floats(0, 600),
    drop_next_after_30s_fraction=st.floats(0, 1),
    seeked_to_end_listed_fraction=st.floats(0, 1),
)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 1_000),
    st.sampled_from(sorted(PROFILES)),
    options_strategy,
    st.integers(0, 8 * HOUR),
    st.integers(1, 50),
)
def test_history_is_newest_first_bounded_and_only_has_ended_listed_plays(
    seed: int, profile: str, options: HistoryOptions, offset: int, limit: int
) -> None:
    source = Listener(seed, profile, START)
    at = source.start_ms + offset
    page = source.recently_played(at, limit=limit, options=options)
    played_at = [entry.played_at_ms for entry in page.items]
    assert played_at == sorted(played_at, reverse=True)
    assert len(page.items) <= limit
    for entry in page.items:
        assert entry.play.ended_at_ms <= at
        assert source.is_listed(entry.play, options)
        assert entry.play.started_at_ms <= entry.played_at_ms <= entry.play.ended_at_ms
