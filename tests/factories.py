from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import factory
from django.utils import timezone

from scrobbler.models import Album, Artist, Play, Track, TrackArtist, User
from scrobbler.rollups import rollups_mark, rollups_refresh


def spotify_id(n: int) -> str:
    """A deterministic 22-character base-62 id, like Spotify's."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    digest = int(hashlib.sha1(str(n).encode()).hexdigest(), 16)  # noqa: S324 - not security
    chars = []
    for _ in range(22):
        digest, rest = divmod(digest, 62)
        chars.append(alphabet[rest])
    return "".join(chars)


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct horse battery staple")


class ArtistFactory(factory.django.DjangoModelFactory[Artist]):
    class Meta:
        model = Artist

    uri = factory.Sequence(lambda n: f"spotify:artist:{spotify_id(n)}")
    name = factory.Sequence(lambda n: f"Artist {n}")


class AlbumFactory(factory.django.DjangoModelFactory[Album]):
    class Meta:
        model = Album

    uri = factory.Sequence(lambda n: f"spotify:album:{spotify_id(n)}")
    name = factory.Sequence(lambda n: f"Album {n}")


class TrackFactory(factory.django.DjangoModelFactory[Track]):
    class Meta:
        model = Track
        skip_postgeneration_save = True

    uri = factory.Sequence(lambda n: f"spotify:track:{spotify_id(n)}")
    name = factory.Sequence(lambda n: f"Track {n}")
    album = factory.SubFactory(AlbumFactory)
    duration_ms = 200_000

    @factory.post_generation
    def artists(obj: Track, create: bool, extracted: list[Artist] | None, **kwargs: object) -> None:
        if not create:
            return
        for position, artist in enumerate(extracted or [ArtistFactory.create()]):
            TrackArtist.objects.create(track=obj, artist=artist, position=position)


class PlayFactory(factory.django.DjangoModelFactory[Play]):
    class Meta:
        model = Play
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    track = factory.SubFactory(TrackFactory)
    ended_at = factory.Sequence(lambda n: timezone.now() - dt.timedelta(minutes=5 * (n + 1)))
    ms_played = 180_000
    started_at = factory.LazyAttribute(
        lambda p: p.ended_at - dt.timedelta(milliseconds=p.ms_played)
    )
    source = Play.Source.LIVE
    counted = True
    skipped = False

    @factory.post_generation
    def rolled_up(play: Play, create: bool, extracted: Any, **kwargs: Any) -> None:
        """Keep the dashboard's rollups in step, as every service that writes plays does."""
        if create:
            rollups_mark(user_id=play.user_id, since=play.ended_at, until=play.ended_at)
            rollups_refresh(play.user_id)
