"""One track, artist or album, for its page: which ones a user may open, the user's total of it in
a period, its plays and rank among its kind in each month of a period, the query of the user's
plays of it, and an artist's or album's own most played tracks in a period. All time is read
from the rollups (EntityTotal); other periods from the plays themselves, one aggregate query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import connection
from django.db.models import Count, Exists, Max, Min, Model, OuterRef, Q, QuerySet, Sum

from dashboard.periods import Period
from dashboard.stats.tops import TopRow, entities_attach
from scrobbler.localtime import month_after, month_start
from scrobbler.models import (
    Album,
    Artist,
    EntityKind,
    EntityMonth,
    EntityTotal,
    Play,
    PlaylistItem,
    Track,
    TrackLike,
    User,
)

# Each kind's model, and the path from a track to it ("" for the track itself).
_KINDS: dict[EntityKind, tuple[type[Model], str]] = {
    EntityKind.TRACK: (Track, ""),
    EntityKind.ARTIST: (Artist, "artists"),
    EntityKind.ALBUM: (Album, "album"),
}


def entities_visible_to(user: User, kind: EntityKind) -> QuerySet[Any]:
    """The tracks, artists or albums `user` may open: a track the user played, liked or has on a
    playlist of theirs, or one in the instance's library (every signed-in user can play it); an
    artist or album with such a track. Anything only other users have is left out, so its name is
    not given away.

    One query whatever the filter on top (each source is an EXISTS on an indexed column), so a
    page fetching its entity through this pays nothing for the check."""
    model, path = _KINDS[kind]

    def to_entity(prefix: str) -> dict[str, OuterRef]:
        return {"__".join(p for p in (prefix, path) if p) or "pk": OuterRef("pk")}

    return model._default_manager.filter(
        Exists(Play.objects.filter(user=user, **to_entity("track")))
        | Exists(TrackLike.objects.filter(user=user, **to_entity("track")))
        | Exists(PlaylistItem.objects.filter(playlist__user=user, **to_entity("track")))
        # The library (playback.LibraryFile, a room beside this one), through its relation name.
        | Exists(Track.objects.filter(library_files__error="", **to_entity("")))
    )


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


@dataclass(frozen=True)
class EntityPeriodTotal:
    plays: int
    ms_played: int
    first_at: datetime | None
    last_at: datetime | None


# Summed as the rollups sum them (scrobbler.rollups): every listen's time, counted plays' dates.
_TOTALS = {
    "listens": Count("pk"),
    "plays": Count("pk", filter=Q(counted=True)),
    "skips": Count("pk", filter=Q(skipped=True)),
    "ms_played": Sum("ms_played"),
    "first_at": Min("ended_at", filter=Q(counted=True)),
    "last_at": Max("ended_at", filter=Q(counted=True)),
}


def entity_total(
    user: User, kind: EntityKind, entity_id: int, period: Period
) -> EntityPeriodTotal | None:
    """The user's plays of the entity in the period; None when there are none."""
    if period.key == "all":
        found = EntityTotal.objects.filter(user=user, kind=kind, entity_id=entity_id).first()
        if found is None or not found.listens:
            return None
        return EntityPeriodTotal(found.plays, found.ms_played, found.first_at, found.last_at)
    row = (
        entity_plays_query(user, kind, entity_id)
        .between(period.since, period.until)
        .aggregate(**_TOTALS)
    )
    if not row["listens"]:
        return None
    return EntityPeriodTotal(row["plays"], row["ms_played"], row["first_at"], row["last_at"])


def entity_plays_query(user: User, kind: EntityKind, entity_id: int) -> Any:
    """The user's plays of a track, or of an artist's or album's tracks."""
    plays = Play.objects.for_user(user)
    if kind == EntityKind.TRACK:
        return plays.filter(track_id=entity_id)
    return plays.filter(track_id__in=_tracks_of(kind, entity_id))


def _tracks_of(kind: EntityKind, entity_id: int) -> QuerySet[Track, Any]:
    # An IN over the tracks, not a join: plays are then found through the (user, track,
    # ended_at) index, a seek per track, rather than by scanning all the period's plays.
    if kind == EntityKind.ARTIST:
        return Track.objects.filter(trackartist__artist_id=entity_id).values("pk")
    return Track.objects.filter(album_id=entity_id).values("pk")


def entity_tops(
    user: User, kind: EntityKind, entity_id: int, period: Period, *, limit: int = 20
) -> list[TopRow]:
    """An artist's or album's most played tracks in the period."""
    tracks = _tracks_of(kind, entity_id)
    if period.key == "all":
        totals_ = EntityTotal.objects.filter(
            user=user, kind=EntityKind.TRACK, entity_id__in=tracks, plays__gt=0
        ).order_by("-plays", "-ms_played")[:limit]
        found: list[tuple[Any, ...]] = [
            (t.entity_id, t.plays, t.listens, t.skips, t.ms_played, t.first_at, t.last_at)
            for t in totals_
        ]
    else:
        grouped = (
            Play.objects.for_user(user)
            .between(period.since, period.until)
            .filter(track_id__in=tracks)
            .values("track_id")
            .annotate(**_TOTALS)
            .order_by("-plays", "-ms_played", "track_id")[:limit]
        )
        # Tracks only skipped in the period sort last; they are not "most played".
        fields = ("track_id", "plays", "listens", "skips", "ms_played", "first_at", "last_at")
        found = [tuple(g[field] for field in fields) for g in grouped if g["plays"]]
    rows = [
        TopRow(entity, i + 1, plays, listens, skips, ms, first_at, last_at)
        for i, (entity, plays, listens, skips, ms, first_at, last_at) in enumerate(found)
    ]
    entities_attach(EntityKind.TRACK, rows)
    return rows
