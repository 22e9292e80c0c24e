"""Merging a `local:` track into the Spotify track it turns out to be (issue 18): whatever pointed
at the local track points at the Spotify one afterwards, in every app, and the local track goes.
The playback side (queues, sessions, their events) is in tests/playback/test_track_merge.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from django.apps import apps
from django.db.models import Model

from playback.models import LibraryFile, PlaybackSession, QueueItem
from scrobbler.catalog import CatalogEntry, TrackEntry, catalog_upsert, local_uri
from scrobbler.models import Playlist, PlaylistItem, Track, TrackArtist, TrackLike, User
from tests.factories import PlayFactory, TrackFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
SPOTIFY_URI = "spotify:track:" + "S" * 22


def local_song(artist: str = "Artist", title: str = "Song") -> Track:
    """A track as an export without URIs or a local file makes it."""
    [track_id] = catalog_upsert(
        [
            TrackEntry(
                uri=local_uri(artist, title),
                name=title,
                duration_ms=200_000,
                isrc="",
                album=None,
                artists=[CatalogEntry(uri=local_uri(artist), name=artist)],
            )
        ]
    ).values()
    return Track.objects.get(pk=track_id)


def spotify_reveals(artist: str = "Artist", title: str = "Song") -> Track:
    """A poll or an import sees the same song with its Spotify URI."""
    track_ids = catalog_upsert(
        [
            TrackEntry(
                uri=SPOTIFY_URI,
                name=title,
                duration_ms=201_000,
                isrc="",
                album=None,
                artists=[CatalogEntry(uri="spotify:artist:" + "A" * 22, name=artist)],
            )
        ]
    )
    return Track.objects.get(pk=track_ids[SPOTIFY_URI])


def library_file(track: Track, name: str = "song.flac") -> LibraryFile:
    return LibraryFile.objects.create(
        path=name.encode(),
        path_key=name.ljust(40, "0")[:40],
        display_path=name,
        size=1000,
        mtime_ns=0,
        track=track,
        scanned_at=T0,
    )


def playlist(user: User, *tracks: Track) -> Playlist:
    made = Playlist.objects.create(user=user, spotify_id="P" * 22, name="Mix", scanned_at=T0)
    for position, track in enumerate(tracks):
        PlaylistItem.objects.create(playlist=made, track=track, position=position)
    return made


def relations_to_track() -> set[tuple[str, str]]:
    """(model, field) of every foreign key to Track in the project, found from the other side
    than the catalog looks (each model's own fields, auto-created through tables included)."""
    return {
        (model._meta.label_lower, field.name)
        for model in apps.get_models(include_auto_created=True)
        for field in model._meta.concrete_fields
        if field.is_relation and field.related_model is Track
    }


# A row pointing at the track, for each relation there is, and what a merge does with it.
# A new relation to Track fails the test below until it is added here: decide what a merge does.
ROWS: dict[tuple[str, str], tuple[Callable[[User, Track], Model], str]] = {
    ("scrobbler.trackartist", "track"): (
        lambda user, track: TrackArtist.objects.get(track=track),
        "goes",  # the Spotify track has its own credits
    ),
    ("scrobbler.play", "track"): (
        lambda user, track: PlayFactory.create(user=user, track=track, ended_at=T0),
        "follows",
    ),
    ("scrobbler.playlistitem", "track"): (
        lambda user, track: playlist(user, track).items.get(),
        "follows",
    ),
    ("scrobbler.tracklike", "track"): (
        lambda user, track: TrackLike.objects.create(user=user, track=track),
        "follows",
    ),
    ("playback.libraryfile", "track"): (lambda user, track: library_file(track), "follows"),
    ("playback.playbacksession", "track"): (
        lambda user, track: PlaybackSession.objects.create(user=user, track=track, changed_at=T0),
        "follows",
    ),
    ("playback.queueitem", "track"): (
        lambda user, track: QueueItem.objects.create(user=user, track=track, position=0),
        "follows",
    ),
}


def test_every_row_pointing_at_a_local_track_follows_it_into_its_spotify_twin(alice: User):
    assert set(ROWS) == relations_to_track()
    local = local_song()
    rows = {relation: (make(alice, local), fate) for relation, (make, fate) in ROWS.items()}

    real = spotify_reveals()

    assert not Track.objects.filter(pk=local.pk).exists()
    for (_, field), (row, fate) in rows.items():
        found = type(row)._base_manager.filter(pk=row.pk).values_list(f"{field}_id", flat=True)
        assert list(found) == ([real.pk] if fate == "follows" else []), type(row).__name__
    assert list(TrackArtist.objects.filter(track=real).values_list("artist__uri", flat=True)) == [
        "spotify:artist:" + "A" * 22
    ]


def test_a_like_of_both_tracks_ends_as_one_like_of_the_spotify_track(alice: User, bob: User):
    local = local_song()
    TrackLike.objects.create(user=alice, track=local)
    TrackLike.objects.create(user=bob, track=local)
    real = TrackFactory.create(uri=SPOTIFY_URI, name="Song")
    TrackLike.objects.create(user=alice, track=real)

    assert spotify_reveals() == real

    assert sorted(TrackLike.objects.values_list("user__username", "track_id")) == [
        ("alice", real.pk),
        ("bob", real.pk),
    ]
    assert not Track.objects.filter(pk=local.pk).exists()


def test_playlists_keep_their_order_with_the_spotify_track_in_the_local_ones_place(
    alice: User, bob: User
):
    local = local_song()
    other = TrackFactory.create()
    real = TrackFactory.create(uri=SPOTIFY_URI, name="Song")
    mine = playlist(alice, local, other, real)
    theirs = playlist(bob, other)

    spotify_reveals()

    assert list(mine.items.values_list("position", "track_id")) == [
        (0, real.pk),
        (1, other.pk),
        (2, real.pk),
    ]
    assert list(theirs.items.values_list("position", "track_id")) == [(0, other.pk)]
    assert not Track.objects.filter(pk=local.pk).exists()
