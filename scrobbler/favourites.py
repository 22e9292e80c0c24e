"""Likes and favourites: a favourite is a liked track, or one played FAVORITE_THRESHOLD times."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from scrobbler.models import EntityKind, EntityTotal, Track, TrackLike, User


def track_like(*, user: User, track: Track) -> None:
    TrackLike.objects.get_or_create(user=user, track=track)


def track_unlike(*, user: User, track: Track) -> None:
    TrackLike.objects.filter(user=user, track=track).delete()


def favourite_tracks(user: User) -> QuerySet[Track]:
    """The user's favourites, with `counted_plays` and `liked`, most played first (all-time
    counts come from the dashboard's rollups)."""
    totals = EntityTotal.objects.filter(user=user, kind=EntityKind.TRACK)
    played_often = totals.filter(plays__gte=settings.FAVORITE_THRESHOLD).values("entity_id")
    liked = TrackLike.objects.filter(user=user)
    return (
        Track.objects.filter(Q(pk__in=played_often) | Q(pk__in=liked.values("track_id")))
        .annotate(
            counted_plays=Coalesce(
                Subquery(totals.filter(entity_id=OuterRef("pk")).values("plays")[:1]), 0
            ),
            liked=Exists(liked.filter(track=OuterRef("pk"))),
        )
        .select_related("album")
        .prefetch_related("artists")
        .order_by("-counted_plays", "name")
    )


def liked_track_ids(user: User, track_ids: list[int]) -> set[int]:
    return set(
        TrackLike.objects.filter(user=user, track_id__in=track_ids).values_list(
            "track_id", flat=True
        )
    )
