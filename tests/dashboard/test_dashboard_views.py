from __future__ import annotations

import datetime as dt
import random
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from dashboard.views import SECTIONS
from scrobbler.models import Album, Play, RollupDirty, Track, User
from scrobbler.rollups import rollups_mark, rollups_refresh
from tests.factories import AlbumFactory, ArtistFactory, TrackFactory

pytestmark = pytest.mark.django_db

RANGES = [
    "today",
    "7d",
    "30d",
    "year",
    "all",
    str(timezone.now().year - 1),
    "custom&from=2025-02-10&to=2025-06-03",
]


def listen(user: User, tracks: list[Track], *, plays: int, seed: int) -> list[Play]:
    """`plays` random listens over the last two years, written as an import would."""
    rng = random.Random(seed)
    now = timezone.now()
    made: list[Play] = []
    seen = set()
    while len(made) < plays:
        track = rng.choice(tracks)
        ended = now - dt.timedelta(minutes=rng.randint(0, 2 * 365 * 24 * 60))
        if (track.pk, ended) in seen:
            continue
        seen.add((track.pk, ended))
        ms = rng.randint(2_000, 240_000)
        made.append(
            Play(
                user=user,
                track=track,
                started_at=ended - dt.timedelta(milliseconds=ms),
                ended_at=ended,
                ms_played=ms,
                source=rng.choice(list(Play.Source.values)),
                counted=ms >= 30_000,
                skipped=ms < 120_000,
            )
        )
    Play.objects.bulk_create(made)
    rollups_mark(
        user_id=user.pk,
        since=min(p.ended_at for p in made),
        until=max(p.ended_at for p in made),
    )
    rollups_refresh(user.pk)
    return made


@pytest.fixture
def library() -> list[Track]:
    artists = [ArtistFactory.create(name=f"Artist {i}") for i in range(4)]
    albums = [AlbumFactory.create(name=f"Album {i}") for i in range(3)]
    return [
        TrackFactory.create(name=f"Song {i}", album=albums[i % 3], artists=[artists[i % 4]])
        for i in range(12)
    ]


@pytest.fixture
def listened(alice: User, bob: User, library: list[Track]) -> list[Play]:
    secret = TrackFactory.create(name="Bobs secret song", artists=[ArtistFactory.create()])
    listen(bob, [secret], plays=40, seed=2)
    return listen(alice, library, plays=400, seed=1)


@pytest.mark.parametrize("section", list(SECTIONS))  # every section a page can load
def test_every_section_answers_every_range_in_a_few_queries(
    client: Client,
    alice: User,
    listened: list[Play],
    section: str,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    client.force_login(alice)
    for key in RANGES:
        with django_assert_max_num_queries(14):
            response = client.get(f"{reverse('dashboard-section', args=[section])}?range={key}")
        assert response.status_code == 200, key
        assert "Bobs secret song" not in response.text


def test_pages_render_in_a_bounded_number_of_queries(
    client: Client,
    alice: User,
    listened: list[Play],
    library: list[Track],
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    client.force_login(alice)
    album = library[0].album
    assert isinstance(album, Album)
    urls = [
        reverse("home"),
        reverse("when"),
        reverse("habits"),
        reverse("recent"),
        reverse("on-this-day"),
        reverse("favourites"),
        reverse("year-review", args=[timezone.now().year - 1]),
        reverse("track", args=[library[0].pk]),
        reverse("artist", args=[library[0].artists.get().pk]),
        reverse("album", args=[album.pk]),
        *(reverse("top", args=[kind]) for kind in ("tracks", "artists", "albums")),
        reverse("top", args=["tracks"]) + "?range=all&order=time&page=2",
        reverse("top", args=["artists"]) + "?range=year&order=first",
    ]
    for url in urls:
        with django_assert_max_num_queries(16):
            response = client.get(url)
        assert response.status_code == 200, url
        assert "Bobs secret song" not in response.text


def test_overview_numbers_are_the_plays_of_the_period(
    client: Client, alice: User, listened: list[Play]
) -> None:
    client.force_login(alice)
    page = client.get(reverse("dashboard-section", args=["totals"]) + "?range=30d").text
    since = timezone.localdate(timezone.now()) - dt.timedelta(days=29)
    expected = sum(
        1 for p in listened if p.counted and timezone.localtime(p.ended_at).date() >= since
    )
    shown = re.search(r'data-stat="plays">(\d+)<', page)
    assert shown is not None
    assert int(shown.group(1)) == expected


def test_a_page_past_the_end_still_counts_the_list(
    client: Client, alice: User, listened: list[Play]
) -> None:
    client.force_login(alice)
    page = client.get(reverse("top", args=["tracks"]) + "?range=all&page=99").text
    assert "Page 99 of 1 (12 tracks)" in page
    assert 'rel="prev"' in page


def test_a_bad_range_says_why_and_shows_the_default(client: Client, alice: User) -> None:
    client.force_login(alice)
    page = client.get(reverse("when") + "?range=custom&from=2024-05-01&to=2024-01-01").text
    assert "The end date is before the start date." in page
    assert "30 days" in page


def test_someone_elses_track_page_is_404(client: Client, alice: User, listened: list[Play]) -> None:
    bobs = Track.objects.get(name="Bobs secret song")
    client.force_login(alice)
    response = client.get(reverse("track", args=[bobs.pk]))
    assert response.status_code == 404  # tests/dashboard/test_entity_visibility.py: the rest
    assert "Bobs secret song" not in response.text


def test_missing_things_are_404_and_anonymous_users_sign_in(client: Client, alice: User) -> None:
    assert client.get(reverse("top", args=["tracks"])).status_code == 302
    assert client.get(reverse("dashboard-section", args=["totals"])).status_code == 302
    client.force_login(alice)
    assert client.get(reverse("top", args=["genres"])).status_code == 404
    assert client.get(reverse("dashboard-section", args=["secrets"])).status_code == 404
    assert client.get(reverse("track", args=[999_999])).status_code == 404
    assert client.get(reverse("year-review", args=[1969])).status_code == 404


def test_stale_rollups_are_announced(client: Client, alice: User, listened: list[Play]) -> None:
    client.force_login(alice)
    assert "still being added up" not in client.get(reverse("home")).text
    RollupDirty.objects.create(user=alice, since=timezone.now(), until=timezone.now())
    assert "still being added up" in client.get(reverse("home")).text
    rollups_refresh(alice.pk)
    assert "still being added up" not in client.get(reverse("home")).text


def test_recent_plays_page_back_in_time(client: Client, alice: User, listened: list[Play]) -> None:
    client.force_login(alice)
    first = client.get(reverse("recent")).text
    older = re.search(r'href="\?before=([^"]+)" rel="next"', first)
    assert older is not None
    second = client.get(reverse("recent") + f"?before={older.group(1)}").text
    newest_first = sorted(listened, key=lambda p: p.ended_at, reverse=True)
    assert newest_first[50].ended_at.isoformat()[:16] in second.replace(" ", "T")


def test_an_htmx_request_for_the_top_table_gets_the_table_alone(
    client: Client, alice: User, listened: list[Play]
) -> None:
    client.force_login(alice)
    url = reverse("top", args=["tracks"]) + "?range=all&order=time"
    table = client.get(url, headers={"HX-Request": "true", "HX-Target": "top-table"}).text
    assert table.lstrip().startswith('<div id="top-table">')
    assert "<html" not in table
    for headers in ({}, {"HX-Request": "true"}):  # a whole page, whoever else asks
        assert "<html" in client.get(url, headers=headers).text
