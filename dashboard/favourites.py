"""Likes and favourites: a favourite is a liked track, or one played FAVORITE_THRESHOLD times."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q, QuerySet

from scrobbler.models import EntityKind, EntityTotal, Track, TrackLike, User


def track_like(*, user: User, track: Track) -> None:
    TrackLike.objects.get_or_create(user=user, track=track)


def track_unlike(*, user: User, track: Track) -> None:
    TrackLike.objects.filter(user=user, track=track).delete()


def favourite_tracks(user: User) -> QuerySet[EntityTotal]:
    """All-time totals of the user's favourite tracks (`entity_id`, `plays`, ...): played at
    least FAVORITE_THRESHOLD times, or liked and played; most played first."""
    liked = TrackLike.objects.filter(user=user).values("track_id")
    return EntityTotal.objects.filter(
        Q(plays__gte=settings.FAVORITE_THRESHOLD) | Q(entity_id__in=liked),
        user=user,
        kind=EntityKind.TRACK,
    ).order_by("-plays", "entity_id")


def liked_unplayed(user: User) -> QuerySet[Track]:
    """Liked tracks the user has not played yet."""
    played = EntityTotal.objects.filter(user=user, kind=EntityKind.TRACK).values("entity_id")
    return (
        Track.objects.filter(likes__user=user)
        .exclude(pk__in=played)
        .prefetch_related("artists")
        .order_by("name")
    )


def liked_track_ids(user: User, track_ids: list[int]) -> set[int]:
    return set(
        TrackLike.objects.filter(user=user, track_id__in=track_ids).values_list(
            "track_id", flat=True
        )
    )
