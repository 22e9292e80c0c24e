"""Dashboard time ranges (`dashboard.periods`): parsing the range control, previous periods, local
days as UTC instants across daylight saving, and the offset spans the hourly rollups rely on."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dashboard.periods import MAX_SPAN_DAYS, Period, PeriodError, period_parse
from scrobbler.localtime import (
    day_number,
    day_of_number,
    day_start,
    local_day,
    month_after,
    months_between,
    offset_spans,
)

UTC_ZONE = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
TODAY = date(2024, 5, 17)
ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/Sao_Paulo",
    "America/Santiago",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Asia/Tokyo",
    "Pacific/Chatham",
    "Africa/Cairo",
]


def parse(params: dict[str, str], *, first_day: date | None = None, today: date = TODAY) -> Period:
    return period_parse(params, today=today, tz=BERLIN, first_day=first_day)


# --- Parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "start", "end"),
    [
        ("today", TODAY, TODAY),
        ("7d", date(2024, 5, 11), TODAY),
        ("30d", date(2024, 4, 18), TODAY),
        ("year", date(2024, 1, 1), TODAY),
        ("2023", date(2023, 1, 1), date(2023, 12, 31)),
        ("1970", date(1970, 1, 1), date(1970, 12, 31)),
    ],
)
def test_each_preset_and_year_covers_its_days(key: str, start: date, end: date) -> None:
    period = parse({"range": key})
    assert (period.key, period.start, period.end, period.tz) == (key, start, end, BERLIN)
    assert period.days == (end - start).days + 1
    assert period.query == f"range={key}"


def test_no_range_means_the_last_30_days() -> None:
    assert parse({}) == parse({"range": "30d"})
    assert parse({"range": ""}) == parse({"range": "30d"})


def test_all_time_starts_on_the_first_day_with_a_play() -> None:
    assert parse({"range": "all"}, first_day=date(2019, 3, 4)) == Period(
        "all", date(2019, 3, 4), TODAY, BERLIN
    )


def test_all_time_without_plays_is_today() -> None:
    assert parse({"range": "all"}) == Period("all", TODAY, TODAY, BERLIN)


def test_all_time_never_ends_before_it_starts() -> None:
    """A first play "after today" (a clock ahead, another zone) still gives a valid period."""
    assert parse({"range": "all"}, first_day=TODAY + timedelta(days=3)).start == TODAY


def test_custom_range_is_the_chosen_days() -> None:
    period = parse({"range": "custom", "from": "2023-12-30", "to": "2024-01-02"})
    assert (period.start, period.end, period.days) == (date(2023, 12, 30), date(2024, 1, 2), 4)
    assert period.query == "range=custom&from=2023-12-30&to=2024-01-02"
    assert period.label == "30 Dec 2023 to 02 Jan 2024"


def test_a_custom_range_of_one_day_is_labelled_as_that_day() -> None:
    assert parse({"range": "custom", "from": "2024-02-29", "to": "2024-02-29"}).label == (
        "29 Feb 2024"
    )


def test_labels_of_presets_and_years() -> None:
    assert parse({"range": "7d"}).label == "7 days"
    assert parse({"range": "all"}).label == "All time"
    assert parse({"range": "2021"}).label == "2021"


def test_a_custom_range_may_span_a_hundred_years() -> None:
    start = date(1970, 1, 1)
    end = start + timedelta(days=MAX_SPAN_DAYS)
    period = parse({"range": "custom", "from": start.isoformat(), "to": end.isoformat()})
    assert period.days == MAX_SPAN_DAYS + 1


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"range": "custom", "to": "2024-01-02"}, "start date"),
        ({"range": "custom", "from": "2024-01-02"}, "end date"),
        ({"range": "custom", "from": "", "to": "2024-01-02"}, "start date"),
        ({"range": "custom", "from": "2024-13-01", "to": "2024-12-31"}, "start date must"),
        ({"range": "custom", "from": "2024-01-01", "to": "yesterday"}, "end date must"),
        ({"range": "custom", "from": "2023-02-29", "to": "2023-03-01"}, "start date must"),
        ({"range": "custom", "from": "2024-01-02", "to": "2024-01-01"}, "before the start"),
        ({"range": "custom", "from": "1970-01-01", "to": "2070-12-31"}, "hundred years"),
        ({"range": "custom", "from": "1969-12-31", "to": "1970-01-31"}, "before 1970"),
        ({"range": "custom", "from": "9999-12-30", "to": "9999-12-31"}, "after 9998"),  # issue 19
        ({"range": "forever"}, "Unknown range"),
        ({"range": "1969"}, "Unknown range"),
        ({"range": "x" * 500}, "Unknown range"),
    ],
)
def test_ranges_the_control_cannot_mean_are_refused(params: dict[str, str], message: str) -> None:
    with pytest.raises(PeriodError, match=message) as raised:
        parse(params)
    assert len(str(raised.value)) < 80


# --- Previous periods ------------------------------------------------------------------------


def test_a_year_is_compared_with_the_year_before() -> None:
    assert parse({"range": "2023"}).previous() == Period(
        "2022", date(2022, 1, 1), date(2022, 12, 31), BERLIN
    )


def test_this_year_so_far_is_compared_with_the_same_days_a_year_earlier() -> None:
    assert parse({"range": "year"}).previous() == Period(
        "custom", date(2023, 1, 1), date(2023, 5, 17), BERLIN
    )


def test_29_february_is_compared_with_28_february() -> None:
    previous = parse({"range": "year"}, today=date(2024, 2, 29)).previous()
    assert previous == Period("custom", date(2023, 1, 1), date(2023, 2, 28), BERLIN)


@pytest.mark.parametrize(
    ("params", "start", "end"),
    [
        ({"range": "today"}, date(2024, 5, 16), date(2024, 5, 16)),
        ({"range": "7d"}, date(2024, 5, 4), date(2024, 5, 10)),
        ({"range": "30d"}, date(2024, 3, 19), date(2024, 4, 17)),
        (
            {"range": "custom", "from": "2024-03-01", "to": "2024-03-31"},
            date(2024, 1, 30),
            date(2024, 2, 29),
        ),
    ],
)
def test_other_periods_are_compared_with_as_many_days_just_before(
    params: dict[str, str], start: date, end: date
) -> None:
    period = parse(params)
    previous = period.previous()
    assert previous == Period("custom", start, end, BERLIN)
    assert previous.days == period.days
    assert previous.end + timedelta(days=1) == period.start


def test_all_time_has_nothing_to_compare_with() -> None:
    assert parse({"range": "all"}, first_day=date(2020, 1, 1)).previous() is None


# --- Local days as instants ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "day", "hours"),
    [
        (BERLIN, date(2024, 3, 31), 23),
        (BERLIN, date(2024, 10, 27), 25),
        (BERLIN, date(2024, 7, 1), 24),
        (NEW_YORK, date(2024, 3, 10), 23),
        (NEW_YORK, date(2024, 11, 3), 25),
        (NEW_YORK, date(2024, 11, 4), 24),
    ],
)
def test_a_daylight_saving_day_lasts_23_or_25_hours(tz: ZoneInfo, day: date, hours: int) -> None:
    period = Period("custom", day, day, tz)
    assert period.until - period.since == timedelta(hours=hours)
    assert period.since.tzinfo == UTC
    assert period.since.astimezone(tz).replace(tzinfo=None) == datetime.combine(day, time(0))
    assert period.until.astimezone(tz).replace(tzinfo=None) == datetime.combine(
        day + timedelta(days=1), time(0)
    )


def test_a_week_over_a_switch_is_its_true_length() -> None:
    week = Period("custom", date(2024, 3, 25), date(2024, 3, 31), BERLIN)
    assert week.until - week.since == timedelta(days=7, hours=-1)
    assert week.since == datetime(2024, 3, 24, 23, tzinfo=UTC)
    assert week.until == datetime(2024, 3, 31, 22, tzinfo=UTC)


def test_a_day_whose_midnight_does_not_exist_starts_at_one() -> None:
    """Santiago springs forward at midnight: 8 September 2024 begins at 01:00."""
    santiago = ZoneInfo("America/Santiago")
    start = day_start(date(2024, 9, 8), santiago)
    assert start == datetime(2024, 9, 8, 4, tzinfo=UTC)
    assert start.astimezone(santiago).hour == 1
    assert local_day(start - timedelta(microseconds=1), santiago) == date(2024, 9, 7)


@settings(max_examples=200, deadline=None)
@given(
    day=st.dates(min_value=date(1971, 1, 1), max_value=date(2037, 12, 31)),
    zone=st.sampled_from(ZONES),
)
def test_day_start_is_the_first_instant_of_the_local_day(day: date, zone: str) -> None:
    tz = ZoneInfo(zone)
    start = day_start(day, tz)
    assert local_day(start, tz) == day
    assert local_day(start - timedelta(microseconds=1), tz) == day - timedelta(days=1)


@given(st.dates(min_value=date(1970, 1, 1), max_value=date(2999, 12, 31)))
def test_day_numbers_count_days_since_1970(day: date) -> None:
    assert day_of_number(day_number(day)) == day
    assert day_number(day) == (day - date(1970, 1, 1)).days
    # The rollups' weekday formula.
    assert (day_number(day) + 3) % 7 == day.weekday()


def test_months_between_includes_both_ends() -> None:
    assert months_between(date(2023, 11, 30), date(2024, 2, 1)) == [
        date(2023, 11, 1),
        date(2023, 12, 1),
        date(2024, 1, 1),
        date(2024, 2, 1),
    ]
    assert months_between(date(2024, 2, 1), date(2024, 1, 31)) == []
    assert month_after(date(2024, 12, 1)) == date(2025, 1, 1)


# --- Offset spans ----------------------------------------------------------------------------


def offset_ms(moment: datetime, tz: ZoneInfo) -> int:
    delta = moment.astimezone(tz).utcoffset()
    assert delta is not None
    return delta // timedelta(milliseconds=1)


@functools.cache
def transitions(zone: str) -> tuple[datetime, ...]:
    """The zone's offset changes in 2010-2030, to the minute (a reference independent of
    offset_spans: a scan minute by minute around every hour where the offset differs)."""
    tz = ZoneInfo(zone)
    found = []
    moment = datetime(2010, 1, 1, tzinfo=UTC)
    while moment < datetime(2030, 1, 1, tzinfo=UTC):
        nxt = moment + timedelta(hours=1)
        if offset_ms(nxt, tz) != offset_ms(moment, tz):
            minute = moment
            while offset_ms(minute, tz) == offset_ms(moment, tz):
                minute += timedelta(minutes=1)
            found.append(minute)
        moment = nxt
    return tuple(found)


def check_spans(since: datetime, until: datetime, tz: ZoneInfo) -> None:
    spans = offset_spans(since, until, tz)
    assert spans[0][0] == since
    starts = [start for start, _ in spans]
    assert starts == sorted(set(starts))
    assert starts[-1] < until
    ends = [*starts[1:], until]
    for (start, ms), end, before in zip(spans, ends, [None, *spans], strict=False):
        if before is not None:
            assert ms != before[1]
            # The switch is exact: the instant before has the previous offset.
            assert offset_ms(start - timedelta(microseconds=1), tz) == before[1]
        samples = [start, end - timedelta(microseconds=1)]
        moment = start
        while moment < end:
            samples.append(moment)
            moment += timedelta(minutes=15)
        for sample in samples:
            assert offset_ms(sample, tz) == ms, (sample, start, end)


moments = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2037, 1, 1), timezones=st.just(UTC)
).map(lambda moment: moment.replace(microsecond=moment.microsecond // 1000 * 1000))
lengths = st.one_of(
    st.integers(min_value=1, max_value=40 * 86_400_000),
    st.integers(min_value=1, max_value=12 * 3_600_000),
).map(lambda ms: timedelta(milliseconds=ms))


@settings(max_examples=150, deadline=None)
@given(since=moments, length=lengths, zone=st.sampled_from(ZONES))
@example(
    since=datetime(2024, 3, 30, 20, tzinfo=UTC), length=timedelta(hours=6), zone="Europe/Berlin"
)
@example(
    since=datetime(2024, 3, 30, 20, tzinfo=UTC), length=timedelta(hours=5), zone="Europe/Berlin"
)
def test_offset_spans_give_every_instant_its_true_offset(
    since: datetime, length: timedelta, zone: str
) -> None:
    check_spans(since, since + length, ZoneInfo(zone))


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from(
        [
            "Europe/Berlin",
            "America/New_York",
            "Australia/Lord_Howe",
            "America/Santiago",
            "Pacific/Chatham",
        ]
    ),
    data=st.data(),
    before=st.integers(min_value=0, max_value=40 * 86_400_000),
    after=st.integers(min_value=-3_600_000, max_value=7 * 3_600_000),
)
def test_offset_spans_are_exact_near_switches(
    zone: str, data: st.DataObject, before: int, after: int
) -> None:
    """Intervals ending just before, at or just after a switch (where a coarse scan misses it)."""
    switch = data.draw(st.sampled_from(transitions(zone)))
    since = switch - timedelta(milliseconds=before)
    until = switch + timedelta(milliseconds=after)
    if until <= since:
        until = since + timedelta(milliseconds=1)
    check_spans(since, until, ZoneInfo(zone))


def test_lord_howe_moves_by_half_an_hour() -> None:
    tz = ZoneInfo("Australia/Lord_Howe")
    spans = offset_spans(datetime(2024, 4, 1, tzinfo=UTC), datetime(2024, 10, 31, tzinfo=UTC), tz)
    assert [ms for _, ms in spans] == [39_600_000, 37_800_000, 39_600_000]
    # 02:00 daylight time (+11) on 7 April, 02:00 standard time (+10:30) on 6 October.
    assert [start for start, _ in spans[1:]] == [
        datetime(2024, 4, 6, 15, tzinfo=UTC),
        datetime(2024, 10, 5, 15, 30, tzinfo=UTC),
    ]


def test_kathmandu_has_one_span_of_a_quarter_hour_offset() -> None:
    spans = offset_spans(
        datetime(2024, 1, 1, tzinfo=UTC),
        datetime(2024, 2, 10, tzinfo=UTC),
        ZoneInfo("Asia/Kathmandu"),
    )
    assert spans == [(datetime(2024, 1, 1, tzinfo=UTC), (5 * 60 + 45) * 60_000)]


def test_an_interval_ending_at_a_switch_has_no_span_after_it() -> None:
    since, switch = datetime(2024, 3, 30, 20, tzinfo=UTC), datetime(2024, 3, 31, 1, tzinfo=UTC)
    assert offset_spans(since, switch, BERLIN) == [(since, 3_600_000)]
    assert offset_spans(since, switch + timedelta(seconds=1), BERLIN) == [
        (since, 3_600_000),
        (switch, 7_200_000),
    ]


def test_utc_has_one_span() -> None:
    since = datetime(2024, 1, 1, tzinfo=UTC)
    assert offset_spans(since, since + timedelta(days=40), UTC_ZONE) == [(since, 0)]
