"""Dashboard time ranges: parsing the range control and previous periods. Plain Python (no
Django, no I/O); local days and months as UTC instants come from scrobbler.localtime."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from scrobbler.localtime import EPOCH_DAY, day_start

MAX_SPAN_DAYS = 100 * 366
# Months and the day after a period's end stay within datetime's range (which ends in 9999).
LAST_DAY = date(9998, 12, 31)
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
        if end > LAST_DAY:
            raise PeriodError("Dates after 9998 hold no plays.")
        return Period(key, start, end, tz)
    raise PeriodError(f"Unknown range {key[:20]!r}.")


def _day(value: str | None, which: str) -> date:
    if not value:
        raise PeriodError(f"Choose a {which} date.")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PeriodError(f"The {which} date must look like 2024-01-31.") from None
