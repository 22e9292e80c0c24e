"""Listening as it happened: the latest plays (skipped ones too, paged back in time), and the
same calendar day in earlier years with each such day's totals and most played tracks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from dashboard.stats.rollups import Totals, day_and_totals, per_day
from dashboard.stats.tops import TopRow, entities_attach
from scrobbler.localtime import day_number, day_start
from scrobbler.models import EntityKind, ListeningHour, Play, User


@dataclass(frozen=True)
class PastDay:
    day: date
    totals: Totals
    tops: list[TopRow]


def on_this_day(user: User, *, today: date, tz: Any, years: int = 30) -> list[PastDay]:
    """The same calendar day in each earlier year the user listened on it, newest first, with
    that day's most played tracks."""
    days = []
    for back in range(1, years + 1):
        try:
            days.append(today.replace(year=today.year - back))
        except ValueError:  # 29 February
            continue
    numbers = [day_number(d) for d in days]
    totals_by_day = dict(
        day_and_totals(row)
        for row in per_day(ListeningHour.objects.filter(user=user, day__in=numbers))
        if row["plays"]
    )
    found = sorted(totals_by_day, reverse=True)
    if not found:
        return []
    # One range of the time index per day, in one query (an OR of ranges is a scan on SQLite).
    plays = Play.objects.for_user(user).counted()
    days_plays = [
        plays.filter(
            ended_at__gte=day_start(day, tz), ended_at__lt=day_start(day + timedelta(days=1), tz)
        ).values_list("track_id", "ended_at")
        for day in found
    ]
    per_day_plays: dict[date, dict[int, int]] = {day: {} for day in found}
    for track_id, ended_at in days_plays[0].union(*days_plays[1:], all=True):
        day = ended_at.astimezone(tz).date()
        if day in per_day_plays:
            per_day_plays[day][track_id] = per_day_plays[day].get(track_id, 0) + 1
    result = []
    all_rows = []
    for day in found:
        ranked = sorted(per_day_plays[day].items(), key=lambda item: (-item[1], item[0]))[:3]
        rows = [TopRow(t, i + 1, n, n, 0, 0, None, None) for i, (t, n) in enumerate(ranked)]
        all_rows.extend(rows)
        result.append(PastDay(day, totals_by_day[day], rows))
    entities_attach(EntityKind.TRACK, all_rows)
    return result


def recent_plays(user: User, *, before: datetime | None = None, limit: int = 50) -> list[Play]:
    """The user's latest listens (skipped ones too), newest first, before a moment (paging)."""
    plays = Play.objects.for_user(user)
    if before is not None:
        plays = plays.filter(ended_at__lt=before)
    return list(
        plays.select_related("track__album")
        .prefetch_related("track__artists")
        .order_by("-ended_at")[:limit]
    )
