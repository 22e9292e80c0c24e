"""Dashboard selectors: what a user's listening adds up to over a period, read from the rollups
(scrobbler.rollups) rather than from millions of plays.

A period is whole local days. Its whole months come from the monthly rollups, the days at its
ragged ends from the plays themselves (a few weeks at most), all time from the all-time totals,
so every answer is exact and none reads more than a few tens of thousands of rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Min, Q, Sum

from dashboard.periods import Period
from scrobbler.localtime import day_number, day_of_number, day_start, month_after, month_start
from scrobbler.models import (
    Album,
    Artist,
    EntityKind,
    EntityMonth,
    EntityTotal,
    ListeningHour,
    ListeningSession,
    Play,
    RollupState,
    Track,
    TrackArtist,
    User,
)
from scrobbler.sql import sql_params

KINDS = {"tracks": EntityKind.TRACK, "artists": EntityKind.ARTIST, "albums": EntityKind.ALBUM}
# How long a period's plays-per-entity counts are kept (they are keyed by the rollups' version
# too, so a change to plays never reads old ones).
PLAYS_COUNTS_SECONDS = 24 * 3600
TOP_ORDERS = {
    "plays": "r.plays DESC, r.ms_played DESC",
    "time": "r.ms_played DESC, r.plays DESC",
    "first": "t.first_at ASC",
    "last": "t.last_at DESC",
}


# --- Totals --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Totals:
    listens: int = 0
    plays: int = 0
    skips: int = 0
    ms_played: int = 0

    @property
    def hours(self) -> float:
        return self.ms_played / 3_600_000

    @property
    def skip_rate(self) -> float | None:
        return self.skips / self.listens if self.listens else None


def _hours(user: User, period: Period) -> Any:
    return ListeningHour.objects.filter(
        user=user, day__gte=day_number(period.start), day__lte=day_number(period.end)
    )


def totals(user: User, period: Period) -> Totals:
    row = _hours(user, period).aggregate(
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
            sql, params = _entity_totals_sql(user, kind, period)
            cursor.execute(f"SELECT COUNT(*) FROM ({sql}) AS e WHERE plays > 0", params)  # noqa: S608
            distinct[name] = cursor.fetchone()[0]
    firsts = (
        EntityTotal.objects.filter(user=user, first_at__gte=period.since, first_at__lt=period.until)
        .values("kind")
        .annotate(n=Count("*"))
    )
    by_kind = {row["kind"]: row["n"] for row in firsts}
    return Variety(distinct, {name: by_kind.get(kind, 0) for name, kind in KINDS.items()})


# --- Tops ----------------------------------------------------------------------------------

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


def _entity_totals_sql(
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


@dataclass
class TopRow:
    entity_id: int
    rank: int
    plays: int
    listens: int
    skips: int
    ms_played: int
    first_at: datetime | None
    last_at: datetime | None
    previous_rank: int | None = None
    entity: Any = None

    @property
    def hours(self) -> float:
        return self.ms_played / 3_600_000

    @property
    def rank_change(self) -> int | None:
        """Places climbed since the previous period (negative: fallen); None: new there."""
        return None if self.previous_rank is None else self.previous_rank - self.rank


@dataclass
class TopPage:
    rows: list[TopRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def top(
    user: User,
    period: Period,
    kind: EntityKind,
    *,
    order: str = "plays",
    page: int = 1,
    per_page: int = 50,
    compare: bool = True,
) -> TopPage:
    """The period's most played tracks, artists or albums, one page of them, each with its rank
    (by plays), all-time first and last play, and its rank in the previous period."""
    sql, params = _entity_totals_sql(user, kind, period)
    ordering = TOP_ORDERS.get(order, TOP_ORDERS["plays"])
    ranked = (
        "SELECT entity_id, listens, plays, skips, ms_played, "  # noqa: S608
        "RANK() OVER (ORDER BY plays DESC) AS rank_no, COUNT(*) OVER () AS total "
        f"FROM ({sql}) AS e WHERE plays > 0"
    )
    columns = "r.entity_id, r.rank_no, r.plays, r.listens, r.skips, r.ms_played, t.first_at, t.last_at, r.total"
    joined = (
        f"LEFT JOIN {EntityTotal._meta.db_table} t "
        "ON t.user_id = %s AND t.kind = %s AND t.entity_id = r.entity_id"
    )
    sort = f"ORDER BY {ordering}, r.entity_id"
    page = max(1, page)
    window = [per_page, (page - 1) * per_page]
    if "t." in ordering:  # by all-time first or last play: every row needs its total
        query = f"SELECT {columns} FROM ({ranked}) AS r {joined} {sort} LIMIT %s OFFSET %s"  # noqa: S608
        arguments = [*params, user.pk, int(kind), *window]
    else:  # only the page's rows need their totals
        page_rows = f"SELECT * FROM ({ranked}) AS r {sort} LIMIT %s OFFSET %s"  # noqa: S608
        query = f"SELECT {columns} FROM ({page_rows}) AS r {joined} {sort}"  # noqa: S608
        arguments = [*params, *window, user.pk, int(kind)]
    with connection.cursor() as cursor:
        cursor.execute(query, arguments)
        fetched = cursor.fetchall()
    # SQLite hands back times as text from raw SQL.
    convert = getattr(connection.ops, "convert_datetimefield_value", None)
    rows = [
        TopRow(
            entity_id=r[0],
            rank=r[1],
            plays=r[2],
            listens=r[3],
            skips=r[4],
            ms_played=r[5],
            first_at=_datetime(r[6], convert),
            last_at=_datetime(r[7], convert),
        )
        for r in fetched
    ]
    if fetched:
        total = fetched[0][8]
    elif page > 1:  # past the last page: still say how many there are
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM ({sql}) AS e WHERE plays > 0", params)  # noqa: S608
            total = cursor.fetchone()[0]
    else:
        total = 0
    previous = period.previous() if compare else None
    if previous is not None and rows:
        before = previous_ranks(user, previous, kind, [row.entity_id for row in rows])
        for row in rows:
            row.previous_rank = before.get(row.entity_id)
    entities_attach(kind, rows)
    return TopPage(rows, total, page, per_page)


def _datetime(value: Any, convert: Any) -> datetime | None:
    if value is None or convert is None:
        return value
    result: datetime | None = convert(value, None, connection)
    return result


def previous_ranks(
    user: User, period: Period, kind: EntityKind, ids: Sequence[int]
) -> dict[int, int]:
    """{entity id: its rank by plays in the period} for those of `ids` played in it.

    A rank is one more than the number of entities played more. How many entities were played
    how often is memoised until the user's rollups next change (the previous period is past, so
    it is asked for again and again); the given ids' own plays are a quick indexed lookup."""
    sql, params = _entity_totals_sql(user, kind, period, only=ids)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT entity_id, plays FROM ({sql}) AS e WHERE plays > 0", params)  # noqa: S608
        plays = dict(cursor.fetchall())
    if not plays:
        return {}
    counts = _plays_counts(user, period, kind)
    return {
        entity: 1 + sum(n for value, n in counts if value > played)
        for entity, played in plays.items()
    }


def _plays_counts(user: User, period: Period, kind: EntityKind) -> list[tuple[int, int]]:
    """[(plays, how many entities were played that often)] in the period."""
    version = RollupState.objects.filter(user=user).values_list("version", flat=True).first()
    key = (
        f"stats:plays-counts:{user.pk}:{version}:{kind}:{period.start}:{period.end}:{period.tz.key}"
    )
    counts: list[tuple[int, int]] | None = cache.get(key)
    if counts is None:
        sql, params = _entity_totals_sql(user, kind, period)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT plays, COUNT(*) FROM ({sql}) AS e WHERE plays > 0 GROUP BY plays",  # noqa: S608
                params,
            )
            counts = [(int(value), n) for value, n in cursor.fetchall()]
        cache.set(key, counts, timeout=PLAYS_COUNTS_SECONDS)
    return counts


def entities_attach(kind: EntityKind, rows: Sequence[Any]) -> None:
    """Set each row's `entity` (Track with album and artists, Artist, or Album with artists) in
    a fixed number of queries."""
    ids = [row.entity_id for row in rows]
    found: dict[int, Any]
    if kind == EntityKind.TRACK:
        found = Track.objects.select_related("album").prefetch_related("artists").in_bulk(ids)
    elif kind == EntityKind.ARTIST:
        found = Artist.objects.in_bulk(ids)
    else:
        found = Album.objects.prefetch_related("artists").in_bulk(ids)
    for row in rows:
        row.entity = found.get(row.entity_id)


def entity_plays(user: User, period: Period, kind: EntityKind) -> list[int]:
    """Plays of each entity played in the period, most first (for distributions)."""
    sql, params = _entity_totals_sql(user, kind, period)
    with connection.cursor() as cursor:
        query = f"SELECT plays FROM ({sql}) AS e WHERE plays > 0 ORDER BY plays DESC"  # noqa: S608
        cursor.execute(query, params)
        return [row[0] for row in cursor.fetchall()]


# --- When ----------------------------------------------------------------------------------

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def heatmap(user: User, period: Period) -> list[list[int]]:
    """Plays by weekday (rows, Monday first) and local hour (columns)."""
    grid = [[0] * 24 for _ in WEEKDAYS]
    cells = _hours(user, period).values("weekday", "hour").annotate(n=Sum("plays"))
    for cell in cells:
        grid[cell["weekday"]][cell["hour"]] = cell["n"]
    return grid


def daily(user: User, period: Period) -> dict[date, Totals]:
    """Totals of each local day of the period that has a listen."""
    rows = (
        _hours(user, period)
        .values("day")
        .annotate(
            listens=Sum("listens"), plays=Sum("plays"), skips=Sum("skips"), ms=Sum("ms_played")
        )
        .order_by("day")
    )
    return {
        day_of_number(r["day"]): Totals(r["listens"], r["plays"], r["skips"], r["ms"]) for r in rows
    }


STEPS = ("day", "week", "month")


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


# --- Sessions and habits ---------------------------------------------------------------------


@dataclass(frozen=True)
class Sessions:
    count: int
    longest: list[ListeningSession]
    median_ms: int | None
    average_ms: int | None
    buckets: list[tuple[str, int]] = field(default_factory=list)


SESSION_BUCKETS = (
    ("under 15 min", 0, 15),
    ("15-30 min", 15, 30),
    ("30-60 min", 30, 60),
    ("1-2 h", 60, 120),
    ("2-4 h", 120, 240),
    ("4 h or more", 240, None),
)


def sessions(user: User, period: Period) -> Sessions:
    found = ListeningSession.objects.filter(
        user=user, started_at__gte=period.since, started_at__lt=period.until
    )
    minute = 60_000
    summary = found.aggregate(
        count=Count("pk"),
        total=Sum("duration_ms"),
        **{
            f"b{i}": Count("pk", filter=Q(duration_ms__gte=low * minute) & (Q() if high is None else Q(duration_ms__lt=high * minute)))
            for i, (_, low, high) in enumerate(SESSION_BUCKETS)
        },
    )  # fmt: skip
    count = summary["count"]
    if not count:
        return Sessions(0, [], None, None)
    median = found.order_by("duration_ms").values_list("duration_ms", flat=True)[count // 2]
    return Sessions(
        count=count,
        longest=list(found.order_by("-duration_ms")[:5]),
        median_ms=median,
        average_ms=summary["total"] // count,
        buckets=[(label, summary[f"b{i}"]) for i, (label, _, _) in enumerate(SESSION_BUCKETS)],
    )


@dataclass(frozen=True)
class Distribution:
    """How plays spread over tracks and artists."""

    track_buckets: list[tuple[str, int]]
    artists: int
    top10_share: float | None
    half_of_plays: int
    effective_artists: float | None


PLAY_BUCKETS = ((1, 1), (2, 4), (5, 9), (10, 24), (25, 49), (50, 99), (100, None))


def distribution(user: User, period: Period) -> Distribution:
    per_track = entity_plays(user, period, EntityKind.TRACK)
    buckets = []
    for low, high in PLAY_BUCKETS:
        label = f"{low}" if low == high else (f"{low}-{high}" if high else f"{low}+")
        n = sum(1 for p in per_track if p >= low and (high is None or p <= high))
        buckets.append((label, n))
    per_artist = entity_plays(user, period, EntityKind.ARTIST)
    total = sum(per_artist)
    half, running = 0, 0
    for plays in per_artist:
        if running * 2 >= total:
            break
        running += plays
        half += 1
    hhi = sum((p / total) ** 2 for p in per_artist) if total else 0
    return Distribution(
        track_buckets=buckets,
        artists=len(per_artist),
        top10_share=sum(per_artist[:10]) / total if total else None,
        half_of_plays=half,
        effective_artists=1 / hhi if hhi else None,
    )


# --- One entity ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RankPoint:
    month: date
    plays: int
    rank: int | None


def rank_history(user: User, kind: EntityKind, entity_id: int, period: Period) -> list[RankPoint]:
    """The entity's plays and rank among its kind in each month of the period it was played
    (months the period only partly covers count whole)."""
    first, last = month_start(period.start), month_start(period.end)
    own = EntityMonth.objects.filter(
        user=user, kind=kind, entity_id=entity_id, month__gte=first, month__lte=last, plays__gt=0
    )
    table = EntityMonth._meta.db_table
    query = (
        "SELECT o.month, o.plays, (SELECT COUNT(*) FROM "  # noqa: S608
        f"{table} x WHERE x.user_id = o.user_id AND x.kind = o.kind AND x.month = o.month "
        f"AND x.plays > o.plays) + 1 FROM {table} o WHERE o.id IN ({{}}) ORDER BY o.month"
    )
    ids = list(own.values_list("pk", flat=True))
    if not ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(query.format(", ".join(["%s"] * len(ids))), ids)
        rows = cursor.fetchall()
    months = {
        (m if isinstance(m, date) else date.fromisoformat(m)): (plays, rank)
        for m, plays, rank in rows
    }
    points, month = [], first
    while month <= last:
        plays, rank = months.get(month, (0, None))
        points.append(RankPoint(month, plays, rank))
        month = month_after(month)
    return points


def entity_total(user: User, kind: EntityKind, entity_id: int) -> EntityTotal | None:
    return EntityTotal.objects.filter(user=user, kind=kind, entity_id=entity_id).first()


def entity_plays_query(user: User, kind: EntityKind, entity_id: int) -> Any:
    """The user's plays of a track, or of an artist's or album's tracks."""
    plays = Play.objects.for_user(user)
    if kind == EntityKind.TRACK:
        return plays.filter(track_id=entity_id)
    if kind == EntityKind.ARTIST:
        return plays.filter(track__trackartist__artist_id=entity_id)
    return plays.filter(track__album_id=entity_id)


def entity_tops(user: User, kind: EntityKind, entity_id: int, *, limit: int = 20) -> list[TopRow]:
    """An artist's or album's most played tracks, all time."""
    tracks = Track.objects.filter(
        **(
            {"trackartist__artist_id": entity_id}
            if kind == EntityKind.ARTIST
            else {"album_id": entity_id}
        )
    ).values("pk")
    totals_ = EntityTotal.objects.filter(
        user=user, kind=EntityKind.TRACK, entity_id__in=tracks, plays__gt=0
    ).order_by("-plays", "-ms_played")[:limit]
    rows = [
        TopRow(t.entity_id, i + 1, t.plays, t.listens, t.skips, t.ms_played, t.first_at, t.last_at)
        for i, t in enumerate(totals_)
    ]
    entities_attach(EntityKind.TRACK, rows)
    return rows


# --- Days --------------------------------------------------------------------------------------


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
    totals_by_day = {
        day_of_number(r["day"]): Totals(r["listens"], r["plays"], r["skips"], r["ms"])
        for r in ListeningHour.objects.filter(user=user, day__in=numbers)
        .values("day")
        .annotate(
            listens=Sum("listens"), plays=Sum("plays"), skips=Sum("skips"), ms=Sum("ms_played")
        )
        if r["plays"]
    }
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
    per_day: dict[date, dict[int, int]] = {day: {} for day in found}
    for track_id, ended_at in days_plays[0].union(*days_plays[1:], all=True):
        day = ended_at.astimezone(tz).date()
        if day in per_day:
            per_day[day][track_id] = per_day[day].get(track_id, 0) + 1
    result = []
    all_rows = []
    for day in found:
        ranked = sorted(per_day[day].items(), key=lambda item: (-item[1], item[0]))[:3]
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


def busiest_day(user: User, period: Period) -> tuple[date, Totals] | None:
    """The local day of the period with the most plays."""
    row = (
        _hours(user, period)
        .values("day")
        .annotate(
            listens=Sum("listens"), plays=Sum("plays"), skips=Sum("skips"), ms=Sum("ms_played")
        )
        .order_by("-plays", "day")
        .first()
    )
    if row is None or not row["plays"]:
        return None
    return day_of_number(row["day"]), Totals(row["listens"], row["plays"], row["skips"], row["ms"])
