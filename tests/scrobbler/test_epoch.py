"""Epoch milliseconds (scrobbler.epoch): exact both ways, in any zone, before 1970 too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from scrobbler.epoch import moment_of, ms_of, now_ms

# Every millisecond a datetime can hold, years 1 to 9999.
FIRST_MS = ms_of(datetime.min.replace(tzinfo=UTC))
LAST_MS = ms_of(datetime.max.replace(tzinfo=UTC))
zones = st.builds(
    timezone,
    st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
        lambda minutes: timedelta(minutes=minutes)
    ),
)
moments = st.datetimes(
    min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=zones
)


@given(st.integers(min_value=FIRST_MS, max_value=LAST_MS))
def test_a_millisecond_count_goes_to_a_utc_moment_and_back_unchanged(ms: int) -> None:
    moment = moment_of(ms)
    assert moment.tzinfo is UTC
    assert ms_of(moment) == ms


@given(moments)
def test_a_moment_is_floored_to_its_millisecond(moment: datetime) -> None:
    ms = ms_of(moment)
    assert moment_of(ms) <= moment < moment_of(ms + 1)
    assert moment_of(ms) == moment.astimezone(UTC).replace(
        microsecond=moment.microsecond // 1000 * 1000
    )


@given(moments)
def test_the_zone_a_moment_is_written_in_does_not_change_its_count(moment: datetime) -> None:
    assert ms_of(moment) == ms_of(moment.astimezone(UTC))


def test_known_instants() -> None:
    assert ms_of(datetime(1970, 1, 1, tzinfo=UTC)) == 0
    assert ms_of(datetime(2026, 3, 1, 12, tzinfo=UTC)) == 1_772_366_400_000
    assert ms_of(datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)) == -1  # floored
    assert moment_of(1_746_086_400_123).isoformat() == "2025-05-01T08:00:00.123000+00:00"


def test_now_is_the_current_utc_time() -> None:
    before = ms_of(datetime.now(UTC))
    now = now_ms()
    assert isinstance(now, int)
    assert before <= now <= ms_of(datetime.now(UTC))
