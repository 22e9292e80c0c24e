"""Likes and favourites: a favourite is a liked track, or one played FAVORITE_THRESHOLD times."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from scrobbler.models import Track, TrackLike, User


def track_like(*, user: User, track: Track) -> None:
    TrackLike.objects.get_or_create(user=user, track=track)


def track_unlike(*, user: User, track: Track) -> None:
    TrackLike.objects.filter(user=user, track=track).delete()


def favourite_tracks(user: User) -> QuerySet[Track]:
    """The user's favourites, with `counted_plays` and `liked`, most played first."""
    threshold = settings.FAVORITE_THRESHOLD
    return (
        Track.objects.annotate(
            counted_plays=Count("plays", filter=Q(plays__user=user, plays__counted=True)),
            liked=Exists(TrackLike.objects.filter(user=user, track=OuterRef("pk"))),
        )
        .filter(Q(liked=True) | Q(counted_plays__gte=threshold))
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
