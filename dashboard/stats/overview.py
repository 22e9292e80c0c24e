"""The overview's figures for a period: its totals (which the totals section compares with the
previous period's), how many different tracks, artists and albums were played and how many of
them for the first time ever, and the user's first day (where "all time" starts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import connection
from django.db.models import Count, Min, Sum

from dashboard.periods import Period
from dashboard.stats.rollups import KINDS, Totals, entity_totals_sql, hours_of
from scrobbler.localtime import day_of_number
from scrobbler.models import EntityTotal, ListeningHour, User


def totals(user: User, period: Period) -> Totals:
    row = hours_of(user, period).aggregate(
        listens=Sum("listens", default=0),
        plays=Sum("plays", default=0),
        skips=Sum("skips", default=0),
        ms_played=Sum("ms_played", default=0),
    )
    return Totals(**row)


def first_day(user: User) -> date | None:
    """The user's first local day with a listen (where "all time" starts)."""
    first = ListeningHour.objects.filter(user=user).aggregate(day=Min("day"))["day"]
    return None if first is None else day_of_number(first)


@dataclass(frozen=True)
class Variety:
    """How many different tracks, artists and albums were played, and how many for the first
    time ever."""

    distinct: dict[str, int]
    new: dict[str, int]


def variety(user: User, period: Period) -> Variety:
    distinct: dict[str, int] = {}
    with connection.cursor() as cursor:
        for name, kind in KINDS.items():
            sql, params = entity_totals_sql(user, kind, period)
            cursor.execute(f"SELECT COUNT(*) FROM ({sql}) AS e WHERE plays > 0", params)  # noqa: S608
            distinct[name] = cursor.fetchone()[0]
    firsts = (
        EntityTotal.objects.filter(user=user, first_at__gte=period.since, first_at__lt=period.until)
        .values("kind")
        .annotate(n=Count("*"))
    )
    by_kind = {row["kind"]: row["n"] for row in firsts}
    return Variety(distinct, {name: by_kind.get(kind, 0) for name, kind in KINDS.items()})
