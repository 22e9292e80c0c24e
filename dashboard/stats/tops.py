"""Top lists: a period's most played tracks, artists or albums, a page at a time, each with its
rank by plays, its all-time first and last play and its rank in the previous period; and
`entities_attach`, which puts the Track, Artist or Album on rows that name them by id (any list
of rows with `entity_id` and `entity`, in a fixed number of queries)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db import connection

from dashboard.periods import Period
from dashboard.stats.rollups import entity_totals_sql
from scrobbler.models import Album, Artist, EntityKind, EntityTotal, RollupState, Track, User

# How long a period's plays-per-entity counts are kept (they are keyed by the rollups' version
# too, so a change to plays never reads old ones).
PLAYS_COUNTS_SECONDS = 24 * 3600
TOP_ORDERS = {
    "plays": "r.plays DESC, r.ms_played DESC",
    "time": "r.ms_played DESC, r.plays DESC",
    "first": "t.first_at ASC",
    "last": "t.last_at DESC",
}


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
    sql, params = entity_totals_sql(user, kind, period)
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
    sql, params = entity_totals_sql(user, kind, period, only=ids)
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
        sql, params = entity_totals_sql(user, kind, period)
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
