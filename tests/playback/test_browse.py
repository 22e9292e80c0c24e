"""Browsing the library: album pages in disc and track order, artists, track search; sign-in
required; a fixed number of queries whatever the number of rows."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from playback.library import library_scan
from playback.models import LibraryFile
from scrobbler.models import Album, Artist, Track, User
from tests.factories import AlbumFactory, ArtistFactory, TrackFactory
from tests.playback.flac import flac_write, png_bytes

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
# Sign-in (session, user) plus the page's own: the album page has the most (album, its artists,
# files, tracks, their artists).
PAGE_QUERIES = 7


def in_library(
    track: Track, *, disc: int | None = None, number: int | None = None, error: str = ""
) -> Track:
    path = f"{track.uri}-{LibraryFile.objects.count()}.flac".encode()
    LibraryFile.objects.create(
        path=path,
        path_key=hashlib.sha1(path, usedforsecurity=False).hexdigest(),
        display_path=path.decode(),
        size=1000,
        mtime_ns=0,
        track=track,
        disc_number=disc,
        track_number=number,
        error=error,
        scanned_at=T0,
    )
    return track


@pytest.fixture
def client(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def titles(html: str) -> list[str]:
    """The track titles of a page's track table, in order."""
    return re.findall(r'<td class="track-title">([^<]*)</td>', html)


def test_anonymous_visitors_are_sent_to_sign_in(alice: User) -> None:
    album = in_library(TrackFactory.create()).album
    artist = Artist.objects.first()
    assert album is not None
    assert artist is not None
    for url in (
        reverse("library-album", args=[album.pk]),
        reverse("library-artists"),
        reverse("library-artist", args=[artist.pk]),
        reverse("library-tracks") + "?q=x",
    ):
        response = Client().get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


def test_an_album_lists_its_playable_tracks_in_disc_and_track_order(client: Client) -> None:
    album = AlbumFactory.create(name="Double Album")
    made = {}
    for disc, number, name in [
        (2, 1, "D2 T1"),
        (1, 2, "D1 T2"),
        (1, 10, "D1 T10"),
        (1, 1, "D1 T1"),
    ]:
        made[name] = in_library(
            TrackFactory.create(name=name, album=album), disc=disc, number=number
        )
    # A track with two files shows once; a file that cannot be read is left out.
    in_library(made["D1 T2"], disc=1, number=2)
    in_library(TrackFactory.create(name="Broken", album=album), disc=1, number=3, error="bad")

    response = client.get(reverse("library-album", args=[album.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>Double Album · Library · Encore</title>" in html
    assert titles(html) == ["D1 T1", "D1 T2", "D1 T10", "D2 T1"]
    # "Play" on a row plays the album from that track on; the album buttons name the album.
    ids = " ".join(str(made[name].pk) for name in ["D1 T1", "D1 T2", "D1 T10", "D2 T1"])
    assert f'data-tracks="{ids}" data-start="2"' in html
    assert f'data-player-action="play" data-album="{album.pk}"' in html
    assert f'data-player-action="queue-add" data-album="{album.pk}"' in html
    assert f'data-tracks="{made["D2 T1"].pk}" data-next' in html


def test_an_unknown_album_or_artist_is_not_found(client: Client) -> None:
    assert client.get(reverse("library-album", args=[999_999])).status_code == 404
    assert client.get(reverse("library-artist", args=[999_999])).status_code == 404


def test_artists_with_their_album_and_track_counts(client: Client) -> None:
    solo, duo, absent = (ArtistFactory.create(name=n) for n in ("Solo", "Duo", "Absent"))
    first, second = AlbumFactory.create(name="First"), AlbumFactory.create(name="Second")
    in_library(TrackFactory.create(album=first, artists=[solo]))
    in_library(TrackFactory.create(album=first, artists=[solo, duo]))
    in_library(TrackFactory.create(album=second, artists=[solo]))
    in_library(TrackFactory.create(album=second, artists=[absent]), error="unreadable")
    TrackFactory.create(album=second, artists=[absent])  # in the catalog, not the library

    html = client.get(reverse("library-artists")).content.decode()

    rows = re.findall(
        r'artists/(\d+)/">([^<]*)</a></td>\s*<td class="num">(\d+)</td>\s*<td class="num">(\d+)',
        html,
    )
    assert [(name, int(albums), int(tracks)) for _, name, albums, tracks in rows] == [
        ("Duo", 1, 1),
        ("Solo", 2, 3),
    ]

    page = client.get(reverse("library-artist", args=[solo.pk])).content.decode()
    assert f'data-player-action="play" data-artist="{solo.pk}"' in page
    assert page.index(">First</a>") < page.index(">Second</a>")
    assert f'href="{reverse("library-album", args=[first.pk])}"' in page
    assert f'href="{reverse("library-album", args=[second.pk])}"' in page


def test_an_artists_tracks_without_an_album_are_listed_too(client: Client) -> None:
    artist = ArtistFactory.create(name="Loose")
    in_library(TrackFactory.create(name="Single", album=None, artists=[artist]))
    html = client.get(reverse("library-artist", args=[artist.pk])).content.decode()
    assert titles(html) == ["Single"]
    assert "No albums of theirs in the library." in html


def test_search_finds_tracks_by_title_artist_or_album_and_every_word_counts(client: Client) -> None:
    nick = ArtistFactory.create(name="Nick Drake")
    moon = AlbumFactory.create(name="Pink Moon")
    in_library(TrackFactory.create(name="Place to Be", album=moon, artists=[nick]))
    in_library(TrackFactory.create(name="Road", album=moon, artists=[nick]))
    in_library(TrackFactory.create(name="Moonlight Road", album=AlbumFactory.create(name="Other")))
    TrackFactory.create(name="Moon Not In Library")

    def search(q: str) -> list[str]:
        response = client.get(reverse("library-tracks"), {"q": q})
        assert response.status_code == 200
        return titles(response.content.decode())

    assert search("place") == ["Place to Be"]  # title, any case
    assert search("drake") == ["Place to Be", "Road"]  # artist
    assert search("moon") == ["Moonlight Road", "Place to Be", "Road"]  # album or title
    assert search("road moon") == ["Moonlight Road", "Road"]  # every word, each anywhere
    assert search("nothing like it") == []
    assert len(search("")) == 3  # every playable track

    html = client.get(reverse("library-tracks"), {"q": "drake"}).content.decode()
    assert "<title>drake · Tracks · Library · Encore</title>" in html
    assert 'value="drake"' in html  # the search box keeps the words


def test_search_pages_keep_the_query(client: Client) -> None:
    album = AlbumFactory.create(name="Big")
    for n in range(55):
        in_library(TrackFactory.create(name=f"Song {n:02d}", album=album))
    first = client.get(reverse("library-tracks"), {"q": "song"}).content.decode()
    assert len(titles(first)) == 50
    assert 'href="?q=song&amp;page=2"' in first
    second = client.get(reverse("library-tracks"), {"q": "song", "page": "2"}).content.decode()
    assert titles(second) == [f"Song {n}" for n in range(50, 55)]


@pytest.mark.parametrize("rows", [3, 30])
def test_browse_pages_take_a_fixed_number_of_queries(
    client: Client, django_assert_max_num_queries: DjangoAssertNumQueries, rows: int
) -> None:
    album = AlbumFactory.create(name="Album")
    artists = [ArtistFactory.create() for _ in range(rows)]
    album.artists.set(artists[:2])
    for n in range(rows):
        in_library(
            TrackFactory.create(album=album, artists=artists[n : n + 2]), disc=1, number=n + 1
        )
        in_library(TrackFactory.create(album=AlbumFactory.create(), artists=[artists[n]]))
    for url in (
        reverse("library-album", args=[album.pk]),
        reverse("library-artists"),
        reverse("library-artist", args=[artists[0].pk]),
        reverse("library-tracks"),
        reverse("library-tracks") + "?q=track",
    ):
        with django_assert_max_num_queries(PAGE_QUERIES):
            assert client.get(url).status_code == 200, url


def test_the_library_links_albums_to_their_pages_and_every_page_has_the_player(
    client: Client, music_root: Path
) -> None:
    cover = png_bytes(200, 200)
    for number, title in [(2, "Second Song"), (1, "First Song")]:
        flac_write(
            music_root / "Band" / "Record" / f"{number:02d}.flac",
            seconds=0.3,
            seed=number,
            cover=cover,
            tags={"TITLE": title, "ARTIST": "Band", "ALBUM": "Record", "TRACKNUMBER": str(number)},
        )
    library_scan()
    album = Album.objects.get(name="Record")

    library = client.get(reverse("library")).content.decode()
    assert f'href="{reverse("library-album", args=[album.pk])}"' in library
    assert 'style="' not in library  # no inline styles (the CSP to come has no unsafe-inline)
    assert re.search(r"<section class=\"player\"[^>]*data-player\s", library)

    page = client.get(reverse("library-album", args=[album.pk])).content.decode()
    assert titles(page) == ["First Song", "Second Song"]
    assert "/library/covers/" in page
    assert "js/player.js" in page
    assert "<script>" not in page  # the player's script is a file, never inline


def test_signed_out_pages_have_no_player() -> None:
    html = Client().get(reverse("login")).content.decode()
    assert "data-player" not in html
    assert "player.js" not in html
