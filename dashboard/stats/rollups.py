"""Reading the rollups for a period, shared by every dashboard selector.

`hours_of` gives a period's ListeningHour rows (one per local hour with a listen), `per_day` and
`day_and_totals` sum them per local day. `entity_totals_sql` gives, as SQL, each track's, artist's
or album's listens, plays, skips and time in a period: from the all-time totals for all time,
otherwise from the monthly rollups for the whole months inside the period plus the plays
themselves for the ragged days at its ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import QuerySet, Sum

from dashboard.periods import Period
from scrobbler.localtime import day_number, day_of_number, day_start, month_after, month_start
from scrobbler.models import (
    EntityKind,
    EntityMonth,
    EntityTotal,
    ListeningHour,
    Play,
    Track,
    TrackArtist,
    User,
)
from scrobbler.sql import sql_params

KINDS = {"tracks": EntityKind.TRACK, "artists": EntityKind.ARTIST, "albums": EntityKind.ALBUM}


@dataclass(frozen=True)
class Totals:
    listens: int = 0
    plays: int = 0
    skips: int = 0
    ms_played: int = 0

    @property
    def skip_rate(self) -> float | None:
        return self.skips / self.listens if self.listens else None


def hours_of(user: User, period: Period) -> QuerySet[ListeningHour]:
    """The user's rollup rows of the period's local hours."""
    return ListeningHour.objects.filter(
        user=user, day__gte=day_number(period.start), day__lte=day_number(period.end)
    )


def per_day(hours: QuerySet[ListeningHour]) -> Any:
    """`hours` summed per local day: rows of `day` (a day number), listens, plays, skips, ms."""
    return hours.values("day").annotate(
        listens=Sum("listens"), plays=Sum("plays"), skips=Sum("skips"), ms=Sum("ms_played")
    )


def day_and_totals(row: dict[str, Any]) -> tuple[date, Totals]:
    """A row of `per_day` as its local day and totals."""
    return day_of_number(row["day"]), Totals(row["listens"], row["plays"], row["skips"], row["ms"])


_PLAY = Play._meta.db_table
_ENTITY_OF_PLAY = {
    EntityKind.TRACK: ("p.track_id", ""),
    EntityKind.ARTIST: (
        "ta.artist_id",
        f"JOIN {TrackArtist._meta.db_table} ta ON ta.track_id = p.track_id",
    ),
    EntityKind.ALBUM: (
        "t.album_id",
        f"JOIN {Track._meta.db_table} t ON t.id = p.track_id AND t.album_id IS NOT NULL",
    ),
}


def entity_totals_sql(
    user: User, kind: EntityKind, period: Period, *, only: Sequence[int] = ()
) -> tuple[str, list[Any]]:
    """SQL of (entity_id, listens, plays, skips, ms_played) per entity heard in the period
    (only those of the ids `only`, when given)."""
    columns = "entity_id, listens, plays, skips, ms_played"
    entity, join = _ENTITY_OF_PLAY[kind]
    marks = ", ".join(["%s"] * len(only))
    if period.key == "all":
        # Our own table names; values are parameters.
        sql = f"SELECT {columns} FROM {EntityTotal._meta.db_table} WHERE user_id = %s AND kind = %s"  # noqa: S608
        if only:
            return sql + f" AND entity_id IN ({marks})", [user.pk, int(kind), *only]
        return sql, [user.pk, int(kind)]
    first_month = month_start(period.start)
    if first_month != period.start:
        first_month = month_after(first_month)
    whole = []
    month = first_month
    while month_after(month) - timedelta(days=1) <= period.end:
        whole.append(month)
        month = month_after(month)
    parts: list[str] = []
    params: list[Any] = []
    raw_spans = []
    if whole:
        parts.append(
            f"SELECT {columns} FROM {EntityMonth._meta.db_table} "  # noqa: S608
            "WHERE user_id = %s AND kind = %s AND month >= %s AND month <= %s"
            + (f" AND entity_id IN ({marks})" if only else "")
        )
        params += [user.pk, int(kind), *sql_params([whole[0], whole[-1]]), *only]
        tz = period.tz
        if period.start < whole[0]:
            raw_spans.append((period.since, day_start(whole[0], tz)))
        after = month_after(whole[-1])
        if after <= period.end:
            raw_spans.append((day_start(after, tz), period.until))
    else:
        raw_spans.append((period.since, period.until))
    for since, until in raw_spans:
        parts.append(
            f"SELECT {entity} AS entity_id, COUNT(*) AS listens, "  # noqa: S608
            "SUM(CASE WHEN p.counted THEN 1 ELSE 0 END) AS plays, "
            "SUM(CASE WHEN p.skipped THEN 1 ELSE 0 END) AS skips, SUM(p.ms_played) AS ms_played "
            f"FROM {_PLAY} p {join} WHERE p.user_id = %s AND p.ended_at >= %s AND p.ended_at < %s "
            + (f"AND {entity} IN ({marks}) " if only else "")
            + f"GROUP BY {entity}"
        )
        params += [user.pk, *sql_params([since, until]), *only]
    if len(parts) == 1 and len(whole) <= 1:  # several months have a row per entity each
        return parts[0], params
    union = " UNION ALL ".join(parts)
    sql = (
        # PostgreSQL sums bigints as numeric (Decimal in Python): cast back to whole numbers.
        "SELECT entity_id, CAST(SUM(listens) AS BIGINT) AS listens, "  # noqa: S608
        "CAST(SUM(plays) AS BIGINT) AS plays, CAST(SUM(skips) AS BIGINT) AS skips, "
        f"CAST(SUM(ms_played) AS BIGINT) AS ms_played FROM ({union}) AS parts GROUP BY entity_id"
    )
    return sql, params
