"""Track, artist and album pages open only for what the user has (plays, likes, playlists, the
library): another user's id gets a 404, so catalog ids cannot be walked to read names (issue 19)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from dashboard.stats.entities import entities_visible_to
from playback.models import LibraryFile
from scrobbler.models import (
    Album,
    Artist,
    EntityKind,
    Playlist,
    PlaylistItem,
    Track,
    TrackLike,
    User,
)
from tests.factories import AlbumFactory, ArtistFactory, PlayFactory, TrackFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices_track(alice: User) -> Track:
    """A track on its own album by its own artist, played by alice only."""
    track = TrackFactory.create(
        name="Alices secret song",
        album=AlbumFactory.create(name="Alices secret album"),
        artists=[ArtistFactory.create(name="Alices secret artist")],
    )
    PlayFactory.create(user=alice, track=track)
    return track


def pages(track: Track) -> list[str]:
    artist = track.artists.get()
    assert isinstance(track.album, Album)
    assert isinstance(artist, Artist)
    return [
        reverse("track", args=[track.pk]),
        reverse("artist", args=[artist.pk]),
        reverse("album", args=[track.album.pk]),
    ]


def statuses(client: Client, track: Track) -> list[int]:
    return [client.get(url).status_code for url in pages(track)]


def test_the_listener_opens_the_track_its_artist_and_its_album(
    client: Client, alice: User, alices_track: Track
) -> None:
    client.force_login(alice)
    for url in pages(alices_track):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Alices secret" in response.text


def test_another_user_gets_404_for_all_three_and_never_the_names(
    client: Client, bob: User, staff: User, alices_track: Track
) -> None:
    for intruder in (bob, staff):  # staff too: the admin is where staff look at the catalog
        client.force_login(intruder)
        for url in pages(alices_track):
            response = client.get(url)
            assert response.status_code == 404, url
            assert "Alices secret" not in response.text


def like(user: User, track: Track) -> None:
    TrackLike.objects.create(user=user, track=track)


def on_a_playlist(user: User, track: Track) -> None:
    playlist = Playlist.objects.create(
        user=user, spotify_id="P" * 22, name="Mix", scanned_at=timezone.now()
    )
    PlaylistItem.objects.create(playlist=playlist, track=track, position=0)


def in_the_library(user: User, track: Track) -> None:
    LibraryFile.objects.create(
        path=b"a.flac",
        path_key="a" * 40,
        display_path="a.flac",
        size=1000,
        mtime_ns=0,
        track=track,
        scanned_at=timezone.now(),
    )


def play(user: User, track: Track) -> None:
    PlayFactory.create(user=user, track=track)


@pytest.mark.parametrize("give", [like, on_a_playlist, in_the_library, play])
def test_the_pages_open_once_the_user_has_the_track(
    client: Client, bob: User, alices_track: Track, give: Callable[[User, Track], None]
) -> None:
    client.force_login(bob)
    assert statuses(client, alices_track) == [404, 404, 404]
    give(bob, alices_track)
    assert statuses(client, alices_track) == [200, 200, 200]


def test_someone_elses_playlist_or_like_opens_nothing(
    client: Client, alice: User, bob: User, alices_track: Track
) -> None:
    like(alice, alices_track)
    on_a_playlist(alice, alices_track)
    client.force_login(bob)
    assert statuses(client, alices_track) == [404, 404, 404]


def test_an_unreadable_library_file_opens_nothing(
    client: Client, bob: User, alices_track: Track
) -> None:
    in_the_library(bob, alices_track)
    LibraryFile.objects.update(error="not a FLAC file")
    client.force_login(bob)
    assert statuses(client, alices_track) == [404, 404, 404]


def test_another_track_of_the_same_artist_or_album_opens_those_but_not_the_track(
    client: Client, bob: User, alices_track: Track
) -> None:
    artist, album = alices_track.artists.get(), alices_track.album
    play(bob, TrackFactory.create(album=album, artists=[artist]))
    client.force_login(bob)
    assert statuses(client, alices_track) == [404, 200, 200]


def test_the_check_is_one_query_whatever_the_user_has(
    alice: User, alices_track: Track, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    artist, album = alices_track.artists.get(), alices_track.album
    for _ in range(20):
        track = TrackFactory.create(album=album, artists=[artist])
        play(alice, track)
        like(alice, track)
    on_a_playlist(alice, alices_track)
    ids = {EntityKind.TRACK: alices_track.pk, EntityKind.ARTIST: artist.pk}
    ids[EntityKind.ALBUM] = alices_track.album_id or 0
    for kind, entity_id in ids.items():
        with django_assert_num_queries(1):
            assert entities_visible_to(alice, kind).filter(pk=entity_id).exists()
        with django_assert_num_queries(1):
            assert not entities_visible_to(alice, kind).filter(pk=entity_id + 10_000).exists()


def test_liking_an_id_does_not_open_its_page(
    client: Client, bob: User, alices_track: Track
) -> None:
    client.force_login(bob)
    for action in ("track-like", "track-unlike"):
        response = client.post(reverse(action, args=[alices_track.pk]), HTTP_HX_REQUEST="true")
        assert response.status_code == 404
    assert not TrackLike.objects.filter(user=bob).exists()
    assert statuses(client, alices_track) == [404, 404, 404]
