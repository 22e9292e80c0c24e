"""When the user listens, over a period: totals per local day, week or month (empty ones
included), plays by weekday and local hour, runs of days with plays (streaks) and the busiest
day. All of it is read from the hourly rollups (`rollups.hours_of`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Sum

from dashboard.periods import Period
from dashboard.stats.rollups import Totals, day_and_totals, hours_of, per_day
from scrobbler.localtime import month_start
from scrobbler.models import User

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
STEPS = ("day", "week", "month")


def heatmap(user: User, period: Period) -> list[list[int]]:
    """Plays by weekday (rows, Monday first) and local hour (columns)."""
    grid = [[0] * 24 for _ in WEEKDAYS]
    cells = hours_of(user, period).values("weekday", "hour").annotate(n=Sum("plays"))
    for cell in cells:
        grid[cell["weekday"]][cell["hour"]] = cell["n"]
    return grid


def daily(user: User, period: Period) -> dict[date, Totals]:
    """Totals of each local day of the period that has a listen."""
    return dict(day_and_totals(row) for row in per_day(hours_of(user, period)).order_by("day"))


def activity(user: User, period: Period, step: str) -> list[tuple[date, Totals]]:
    """Totals per day, week (from Monday) or month across the whole period, empty ones included."""
    days = daily(user, period)

    def bucket(day: date) -> date:
        if step == "week":
            return day - timedelta(days=day.weekday())
        if step == "month":
            return month_start(day)
        return day

    sums: dict[date, list[int]] = {}
    day = period.start
    while day <= period.end:
        sums.setdefault(bucket(day), [0, 0, 0, 0])
        day += timedelta(days=1)
    for day, t in days.items():
        s = sums[bucket(day)]
        s[0] += t.listens
        s[1] += t.plays
        s[2] += t.skips
        s[3] += t.ms_played
    return [(start, Totals(*values)) for start, values in sums.items()]


@dataclass(frozen=True)
class Streaks:
    longest: int
    longest_start: date | None
    longest_end: date | None
    current: int
    days_played: int


def streaks(user: User, period: Period, *, today: date) -> Streaks:
    """Runs of consecutive local days with at least one play: the longest within the period,
    and the one running now (ending today or yesterday)."""
    played = sorted(d for d, t in daily(user, period).items() if t.plays)
    longest, run_start, previous = 0, None, None
    best: tuple[date | None, date | None] = (None, None)
    run = 0
    for day in played:
        run = run + 1 if previous is not None and day - previous == timedelta(days=1) else 1
        run_start = day if run == 1 else run_start
        if run > longest:
            longest, best = run, (run_start, day)
        previous = day
    current = run if played and (today - played[-1]).days <= 1 else 0
    return Streaks(longest, best[0], best[1], current, len(played))


def busiest_day(user: User, period: Period) -> tuple[date, Totals] | None:
    """The local day of the period with the most plays."""
    row = per_day(hours_of(user, period)).order_by("-plays", "day").first()
    if row is None or not row["plays"]:
        return None
    return day_and_totals(row)
