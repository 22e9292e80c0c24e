"""Global stats: what the listeners who opted in (`User.share_stats`, active accounts only) add up
to together, for the public /global/ page.

Everything is read from the rollups (scrobbler.rollups), in a fixed number of queries whatever the
number of listeners, and kept in Django's cache: the Celery task `scrobbler.global_stats_refresh`
recomputes it every GLOBAL_STATS_SECONDS, so visitors read the cached value and never wait for it.
Nothing in the result identifies a user: only counts, and names of tracks, artists and albums.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Sum
from django.utils import timezone

from dashboard.stats.tops import entities_attach
from scrobbler.models import EntityKind, EntityTotal, ListeningHour, User

# The name it had before the rooms split, so that a cache filled before an upgrade still counts.
CACHE_KEY = "scrobbler.global_stats"
# Bump whenever GlobalStats or GlobalEntry change shape: values cached by older code are then
# ignored instead of unpickled into the new classes.
CACHE_VERSION = 1
TOP_SIZE = 20

# The rollups' rows of users who opted in (a join on the user, whose columns filter it).
_SHARED = {"user__share_stats": True, "user__is_active": True}


@dataclass(frozen=True)
class GlobalEntry:
    """One track, artist or album of a top: its names are copied in, so a cached value needs no
    query to show."""

    rank: int
    entity_id: int
    name: str
    artists: tuple[str, ...]  # credited artists of a track or album; empty for an artist
    plays: int
    listeners: int  # opted-in listeners with at least one counted play of it


@dataclass(frozen=True)
class GlobalStats:
    listeners: int
    plays: int
    ms_played: int
    # Counted plays by hour of day, index 0 = 00:00-00:59. Each play is in its listener's own
    # local hour (the time zone the rollups are built in), not in UTC: an evening listen counts
    # as evening wherever the listener lives.
    plays_by_hour: tuple[int, ...]
    tracks: tuple[GlobalEntry, ...]
    artists: tuple[GlobalEntry, ...]
    albums: tuple[GlobalEntry, ...]
    computed_at: datetime

    @property
    def hours(self) -> float:
        return self.ms_played / 3_600_000


@dataclass
class _Row:
    """A top's row while its entity is looked up (entities_attach sets `entity`)."""

    entity_id: int
    plays: int
    listeners: int
    entity: Any = None


def global_stats_compute() -> GlobalStats:
    """Compute the global stats now (about ten queries: one per aggregate, a few name lookups)."""
    listeners = User.objects.filter(share_stats=True, is_active=True).count()
    by_hour = [0] * 24
    ms_played = 0
    hours = (
        ListeningHour.objects.filter(**_SHARED)
        .values("hour")
        .annotate(plays=Sum("plays"), ms=Sum("ms_played"))
        .order_by()
    )
    for row in hours:
        by_hour[row["hour"]] += row["plays"]
        ms_played += row["ms"]
    return GlobalStats(
        listeners=listeners,
        plays=sum(by_hour),
        ms_played=ms_played,
        plays_by_hour=tuple(by_hour),
        tracks=_top(EntityKind.TRACK),
        artists=_top(EntityKind.ARTIST),
        albums=_top(EntityKind.ALBUM),
        computed_at=timezone.now(),
    )


def _top(kind: EntityKind) -> tuple[GlobalEntry, ...]:
    """The TOP_SIZE entities of a kind with the most plays across listeners who opted in; ties
    share a rank (and are cut by id at the end of the list)."""
    found = (
        EntityTotal.objects.filter(kind=kind, plays__gt=0, **_SHARED)
        .values("entity_id")
        .annotate(total=Sum("plays"), listeners=Count("user_id"))
        .order_by("-total", "entity_id")[:TOP_SIZE]
    )
    rows = [_Row(r["entity_id"], r["total"], r["listeners"]) for r in found]
    entities_attach(kind, rows)
    entries = []
    rank = 0
    for position, row in enumerate(rows, start=1):
        if position == 1 or row.plays != rows[position - 2].plays:
            rank = position
        entity = row.entity
        artists: tuple[str, ...] = ()
        if entity is not None and kind != EntityKind.ARTIST:
            artists = tuple(artist.name for artist in entity.artists.all())
        entries.append(
            GlobalEntry(
                rank=rank,
                entity_id=row.entity_id,
                name=entity.name if entity is not None else "Unknown",
                artists=artists,
                plays=row.plays,
                listeners=row.listeners,
            )
        )
    return tuple(entries)


def _cache_seconds() -> float:
    # A quarter of a period to spare: the next refresh replaces the value before it expires.
    return float(settings.GLOBAL_STATS_SECONDS) * 1.25


def global_stats_refresh() -> GlobalStats:
    """Recompute the global stats and store them in the cache."""
    stats = global_stats_compute()
    cache.set(CACHE_KEY, stats, timeout=_cache_seconds(), version=CACHE_VERSION)
    return stats


def global_stats() -> GlobalStats:
    """The cached global stats, computed (and cached) now only if the cache has none."""
    stats = cache.get(CACHE_KEY, version=CACHE_VERSION)
    if isinstance(stats, GlobalStats):
        return stats
    return global_stats_refresh()
