"""Pictures on the dashboard's pages: stored pictures or the library's covers, a placeholder
otherwise, never a third party's URL; an album subtitle for tracks; artist links; and no query
per row (a page of 50 rows costs what a page of 5 does)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from scrobbler.models import Album, Artist, Track, User
from tests.dashboard.test_dashboard_views import listen
from tests.factories import AlbumFactory, ArtistFactory, TrackFactory

pytestmark = pytest.mark.django_db

KEY = "a" * 40
COVER = "c" * 40
HOTLINK = "https://i.scdn.co/image/should-never-reach-the-browser"


def catalog(n: int, tag: str) -> list[Track]:
    """`n` tracks, each on its own album by its own artist; a third of the albums and artists
    have a stored picture, a third only a remote image_url, the rest nothing."""
    tracks = []
    for i in range(n):
        pictured = {0: {"picture_key": KEY, "image_url": HOTLINK}, 1: {"image_url": HOTLINK}}
        extra = pictured.get(i % 3, {})
        artist = ArtistFactory.create(name=f"{tag} artist {i}", **extra)
        album = AlbumFactory.create(name=f"{tag} album {i}", **extra)
        tracks.append(TrackFactory.create(name="Intro", album=album, artists=[artist]))
    return tracks


def test_tops_show_pictures_or_placeholders_and_album_subtitles(
    client: Client, alice: User
) -> None:
    tracks = catalog(6, "Mine")
    listen(alice, tracks, plays=60, seed=1)
    client.force_login(alice)
    for kind in ("tracks", "albums", "artists"):
        html = client.get(reverse("top", args=[kind]) + "?range=all").text
        assert html.count(f'src="/pictures/{KEY}/64.jpg"') == 2, kind
        assert html.count("pic-none") == 4, kind  # the rest: placeholder tiles with an initial
        assert 'width="40" height="40" alt="" loading="lazy"' in html
        assert HOTLINK not in html  # never hot-linked
        assert re.search(
            r'<span class="pic pic-thumb[^"]*pic-none[^"]*" aria-hidden="true">M</span>', html
        )
    tops = client.get(reverse("top", args=["tracks"]) + "?range=all").text
    # Six tracks called "Intro" no longer look alike: each shows its album.
    for i in range(6):
        assert f'<span class="pic-subtitle">Mine album {i}</span>' in tops
        artist = Artist.objects.get(name=f"Mine artist {i}")
        assert f'<a href="{reverse("artist", args=[artist.pk])}">Mine artist {i}</a>' in tops


def test_a_library_album_shows_its_embedded_cover(client: Client, alice: User) -> None:
    album = AlbumFactory.create(name="From the library", image_url=f"/library/covers/{COVER}/300/")
    track = TrackFactory.create(album=album, artists=[ArtistFactory.create()])
    listen(alice, [track], plays=3, seed=1)
    client.force_login(alice)
    html = client.get(reverse("top", args=["albums"]) + "?range=all").text
    assert f'src="/library/covers/{COVER}/64/"' in html
    page = client.get(reverse("album", args=[album.pk])).text
    assert (
        f'src="/library/covers/{COVER}/300/" width="160" height="160" alt="Cover of From the library"'
        in page
    )


def test_recent_plays_show_art_and_album(client: Client, alice: User) -> None:
    tracks = catalog(3, "Recent")
    listen(alice, tracks, plays=9, seed=3)
    client.force_login(alice)
    html = client.get(reverse("recent")).text
    assert f'src="/pictures/{KEY}/64.jpg"' in html
    assert '<span class="pic-subtitle">Recent album 0</span>' in html
    assert HOTLINK not in html


def test_entity_pages_show_a_large_picture(client: Client, alice: User) -> None:
    tracks = catalog(3, "Big")
    listen(alice, tracks, plays=9, seed=4)
    client.force_login(alice)
    pictured, remote_only = tracks[0], tracks[1]
    assert isinstance(pictured.album, Album)
    album_page = client.get(reverse("album", args=[pictured.album.pk])).text
    assert (
        f'src="/pictures/{KEY}/300.jpg" width="160" height="160" alt="Cover of Big album 0"'
        in album_page
    )
    track_page = client.get(reverse("track", args=[pictured.pk])).text
    assert f'src="/pictures/{KEY}/300.jpg"' in track_page  # a track shows its album's
    artist = remote_only.artists.get()
    artist_page = client.get(reverse("artist", args=[artist.pk])).text
    assert '<span class="pic pic-large pic-artist pic-none' in artist_page
    assert HOTLINK not in artist_page


def queries(client: Client, url: str) -> int:
    client.get(url)  # warm caches a first request fills
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    ("url", "few"),
    [
        (reverse("top", args=["tracks"]) + "?range=all", 5),
        (reverse("top", args=["albums"]) + "?range=all", 5),
        (reverse("top", args=["artists"]) + "?range=all", 5),
        (reverse("recent"), 5),
        # The overview's sections show five rows at most: two against five.
        (reverse("dashboard-section", args=["top-tracks"]) + "?range=all", 2),
        (reverse("dashboard-section", args=["top-albums"]) + "?range=all", 2),
        (reverse("dashboard-section", args=["top-artists"]) + "?range=all", 2),
    ],
)
def test_more_rows_take_no_more_queries(
    client: Client, alice: User, bob: User, url: str, few: int
) -> None:
    listen(alice, catalog(few, "Few"), plays=40, seed=5)
    listen(bob, catalog(50, "Many"), plays=400, seed=6)
    client.force_login(alice)
    few_html = client.get(url).text
    few_queries = queries(client, url)
    client.force_login(bob)
    many_html = client.get(url).text
    many_queries = queries(client, url)
    rows = 'class="pic pic-thumb'
    assert many_html.count(rows) > few_html.count(rows) >= few  # each row has its picture
    assert "Few album" not in many_html  # bob sees only his own
    assert many_queries == few_queries
