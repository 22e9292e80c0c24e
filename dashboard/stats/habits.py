"""Listening habits over a period: sessions (how many, how long, the longest) and how plays
spread over tracks and artists (how concentrated they are)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, Q, Sum

from dashboard.periods import Period
from dashboard.stats.rollups import entity_totals_sql
from scrobbler.models import EntityKind, ListeningSession, User


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


def entity_plays(user: User, period: Period, kind: EntityKind) -> list[int]:
    """Plays of each entity played in the period, most first (for distributions)."""
    sql, params = entity_totals_sql(user, kind, period)
    with connection.cursor() as cursor:
        query = f"SELECT plays FROM ({sql}) AS e WHERE plays > 0 ORDER BY plays DESC"  # noqa: S608
        cursor.execute(query, params)
        return [row[0] for row in cursor.fetchall()]
