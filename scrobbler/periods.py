"""Dashboard time ranges: parsing the range control, previous periods, local days and months as
UTC instants. Plain Python (no Django, no I/O)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

EPOCH_DAY = date(1970, 1, 1)
MAX_SPAN_DAYS = 100 * 366
PRESETS = {
    "today": "Today",
    "7d": "7 days",
    "30d": "30 days",
    "year": "This year",
    "all": "All time",
}
DEFAULT_RANGE = "30d"
YEAR_RE = re.compile(r"^(19[7-9]\d|2\d{3})$")


class PeriodError(ValueError):
    """A range the control cannot mean; the message says why."""


@dataclass(frozen=True)
class Period:
    """Local days `start`..`end` (both included) in time zone `tz`; `key` is the range control's
    value ("30d", "2023", "custom", ...)."""

    key: str
    start: date
    end: date
    tz: ZoneInfo

    @property
    def label(self) -> str:
        if self.key in PRESETS:
            return PRESETS[self.key]
        if YEAR_RE.match(self.key):
            return self.key
        if self.start == self.end:
            return f"{self.start:%d %b %Y}"
        return f"{self.start:%d %b %Y} to {self.end:%d %b %Y}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def since(self) -> datetime:
        """The first instant of the period."""
        return day_start(self.start, self.tz)

    @property
    def until(self) -> datetime:
        """The instant just after the period."""
        return day_start(self.end + timedelta(days=1), self.tz)

    @property
    def query(self) -> str:
        """The range control's query string for this period."""
        if self.key == "custom":
            return f"range=custom&from={self.start.isoformat()}&to={self.end.isoformat()}"
        return f"range={self.key}"

    def previous(self) -> Period | None:
        """The period to compare with: a year earlier for year-based ranges, else the same
        number of days just before. All time has none."""
        if self.key == "all":
            return None
        if self.key == "year" or YEAR_RE.match(self.key):
            key = str(self.start.year - 1) if YEAR_RE.match(self.key) else "custom"
            return Period(key, _year_earlier(self.start), _year_earlier(self.end), self.tz)
        return Period("custom", self.start - timedelta(days=self.days), self.start - timedelta(days=1), self.tz)  # fmt: skip


def _year_earlier(day: date) -> date:
    if day.month == 2 and day.day == 29:
        return date(day.year - 1, 2, 28)
    return day.replace(year=day.year - 1)


def period_parse(
    params: Mapping[str, str], *, today: date, tz: ZoneInfo, first_day: date | None
) -> Period:
    """The period the range control's `range` (and for "custom", `from` and `to`) asks for.
    `first_day` is the user's first day with a play (all time starts there)."""
    key = params.get("range") or DEFAULT_RANGE
    if key == "today":
        return Period(key, today, today, tz)
    if key == "7d":
        return Period(key, today - timedelta(days=6), today, tz)
    if key == "30d":
        return Period(key, today - timedelta(days=29), today, tz)
    if key == "year":
        return Period(key, date(today.year, 1, 1), today, tz)
    if key == "all":
        return Period(key, min(first_day or today, today), today, tz)
    if YEAR_RE.match(key):
        return Period(key, date(int(key), 1, 1), date(int(key), 12, 31), tz)
    if key == "custom":
        start, end = _day(params.get("from"), "start"), _day(params.get("to"), "end")
        if end < start:
            raise PeriodError("The end date is before the start date.")
        if (end - start).days > MAX_SPAN_DAYS:
            raise PeriodError("A range can span at most a hundred years.")
        if start < EPOCH_DAY:
            raise PeriodError("Dates before 1970 hold no plays.")
        return Period(key, start, end, tz)
    raise PeriodError(f"Unknown range {key[:20]!r}.")


def _day(value: str | None, which: str) -> date:
    if not value:
        raise PeriodError(f"Choose a {which} date.")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PeriodError(f"The {which} date must look like 2024-01-31.") from None


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
