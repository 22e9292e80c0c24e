from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from bench.dashboard import (
    DAY_MS,
    YEAR_MS,
    catalog_generate,
    listeners_plan,
    plays_generate,
    sqlite_times,
)

NOW_MS = 1_796_000_000_000


def test_generated_plays_follow_one_another_and_end_at_the_last_moment() -> None:
    catalog = catalog_generate(tracks=2_000, artists=300, albums=500, seed=1)
    plays = plays_generate(
        count=50_000,
        durations=catalog.durations,
        first_ms=NOW_MS - 3 * YEAR_MS,
        last_ms=NOW_MS,
        utc_hours=1,
        seed=[1, 2],
    )
    assert int(plays.ended[-1]) == NOW_MS
    assert (plays.started[1:] >= plays.ended[:-1]).all()  # one at a time: (track, end) unique
    assert (plays.ended - plays.started == plays.ms_played).all()
    assert plays.started[0] >= NOW_MS - 3 * YEAR_MS - DAY_MS
    assert 0.08 < plays.skipped.mean() < 0.12
    assert 0.04 < 1 - plays.counted.mean() < 0.06
    assert (plays.ms_played[plays.counted] >= 30_000).all()
    assert (plays.ms_played[~plays.counted] < 30_000).all()
    assert catalog.durations.min() >= 30_000
    assert catalog.durations.max() <= 360_000
    counts = np.bincount(plays.track)
    assert counts.max() > 10 * np.median(counts[counts > 0])  # favourites and a long tail


def test_other_listeners_share_the_rest_of_the_plays() -> None:
    planned = listeners_plan(users=7, heavy=1_000, total=10_000, now_ms=NOW_MS, seed=1)
    assert planned[0].plays == 1_000
    assert sum(p.plays for p in planned) == 10_000
    assert all(p.first_ms < p.last_ms <= NOW_MS for p in planned)


def test_sqlite_times_are_written_as_django_writes_them() -> None:
    ms = np.array([1_700_000_000_123, 1_700_000_000_000, 0])
    expected = [
        str(datetime.fromtimestamp(m / 1000, UTC).replace(tzinfo=None)) for m in ms.tolist()
    ]
    assert sqlite_times(ms) == expected
