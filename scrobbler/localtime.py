"""Local days and months as UTC instants, for everything that counts by the listener's calendar
(the rollups, the dashboard's periods). Plain Python (no Django, no I/O)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

EPOCH_DAY = date(1970, 1, 1)


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of a local day, in UTC (the day's midnight may not exist: DST)."""
    local = datetime.combine(day, time(0), tzinfo=tz)
    return local.astimezone(UTC)


def local_day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def day_number(day: date) -> int:
    """Days since 1970-01-01: how ListeningHour stores a local day."""
    return (day - EPOCH_DAY).days


def day_of_number(number: int) -> date:
    return EPOCH_DAY + timedelta(days=number)


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_after(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def months_between(first: date, last: date) -> list[date]:
    """First days of the months from `first`'s to `last`'s, both included."""
    months, month = [], month_start(first)
    while month <= last:
        months.append(month)
        month = month_after(month)
    return months


def offset_spans(since: datetime, until: datetime, tz: ZoneInfo) -> list[tuple[datetime, int]]:
    """[(from, UTC offset in ms)] covering [since, until): where the zone's offset changes
    (daylight saving), a new span starts. Offsets change on whole seconds, found by bisection
    between daily samples."""

    def offset(moment: datetime) -> int:
        delta = moment.astimezone(tz).utcoffset()
        return int(delta.total_seconds() * 1000) if delta else 0

    spans = [(since, offset(since))]
    step = timedelta(hours=6)
    moment = since
    while moment < until:
        nxt = min(moment + step, until)
        if offset(nxt) != spans[-1][1]:
            low, high = moment, nxt
            while high - low > timedelta(seconds=1):
                mid = low + (high - low) / 2
                low, high = (mid, high) if offset(mid) == spans[-1][1] else (low, mid)
            switch = high.replace(microsecond=0)
            if switch < until:  # a change at `until` itself is outside [since, until)
                spans.append((switch, offset(high)))
        moment = nxt
    return spans
