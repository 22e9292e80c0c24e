"""The range follows the user: one chosen on any dashboard page is used by the others opened
without one (kept in the user's own session), a range in the URL always wins, a bad one is not
kept, and entity pages show one range throughout (all time until one is chosen)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from scrobbler.models import Play, Track, User
from scrobbler.rollups import rollups_mark, rollups_refresh
from tests.factories import AlbumFactory, ArtistFactory, TrackFactory

pytestmark = pytest.mark.django_db


def shown(page: str) -> str:
    """The range control's label of the period shown, "7 days" say."""
    found = re.search(r'<p class="period-label">([^:<]+)', page)
    assert found is not None
    return found.group(1).strip()


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_range_chosen_on_one_page_is_used_by_the_others(alice: User) -> None:
    client = signed_in(alice)
    assert shown(client.get(reverse("home")).text) == "30 days"

    client.get(reverse("when") + "?range=7d")

    for url in (reverse("home"), reverse("habits"), reverse("top", args=["artists"])):
        page = client.get(url).text
        assert shown(page) == "7 days", url
    # Sections and pagers carry it in their links.
    assert "range=7d" in client.get(reverse("home")).text


def test_a_custom_range_is_remembered_with_its_dates(alice: User) -> None:
    client = signed_in(alice)
    client.get(reverse("habits") + "?range=custom&from=2025-02-10&to=2025-06-03")

    page = client.get(reverse("when")).text

    assert "10 Feb 2025 to 3 Jun 2025" in page
    # (Alice has no plays: /when/ shows its empty state, so the custom form carries the dates.)
    assert 'name="from" value="2025-02-10"' in page
    assert 'name="to" value="2025-06-03"' in page


def test_a_range_in_the_url_wins_and_becomes_the_one_remembered(alice: User) -> None:
    client = signed_in(alice)
    client.get(reverse("when") + "?range=7d")

    assert shown(client.get(reverse("home") + "?range=year").text) == "This year"
    assert shown(client.get(reverse("habits")).text) == "This year"


def test_the_year_in_review_and_its_sections_leave_the_remembered_range_be(alice: User) -> None:
    client = signed_in(alice)
    client.get(reverse("when") + "?range=7d")
    year = timezone.now().year - 1

    client.get(reverse("year-review", args=[year]))
    client.get(reverse("dashboard-section", args=["totals"]) + f"?range={year}")

    assert shown(client.get(reverse("home")).text) == "7 days"


def test_a_bad_range_is_not_remembered(alice: User) -> None:
    client = signed_in(alice)
    client.get(reverse("when") + "?range=7d")

    page = client.get(reverse("home") + "?range=custom&from=2024-05-01&to=2024-01-01").text
    assert "The end date is before the start date." in page

    assert shown(client.get(reverse("habits")).text) == "7 days"


def test_another_users_range_is_theirs_alone(alice: User, bob: User) -> None:
    signed_in(alice).get(reverse("when") + "?range=7d")

    assert shown(signed_in(bob).get(reverse("home")).text) == "30 days"


def test_signing_out_forgets_the_range(alice: User) -> None:
    client = signed_in(alice)
    client.get(reverse("when") + "?range=7d")
    client.post(reverse("logout"))
    client.force_login(alice)

    assert shown(client.get(reverse("home")).text) == "30 days"


@pytest.fixture
def artist_plays(alice: User) -> tuple[int, list[Track], list[Play]]:
    """Two tracks of one artist, each played 10 days ago and 100 days ago (one of them skipped
    too short to count 10 days ago)."""
    artist = ArtistFactory.create(name="The Artist")
    album = AlbumFactory.create(name="The Album")
    tracks = [
        TrackFactory.create(name=name, album=album, artists=[artist])
        for name in ("Recent song", "Old song")
    ]
    now = timezone.now()
    plays = []
    for track, ago, ms in (
        (tracks[0], 10, 200_000),
        (tracks[0], 10.1, 10_000),
        (tracks[0], 100, 200_000),
        (tracks[1], 100, 200_000),
        (tracks[1], 101, 200_000),
    ):
        ended = now - dt.timedelta(days=ago)
        plays.append(
            Play.objects.create(
                user=alice,
                track=track,
                started_at=ended - dt.timedelta(milliseconds=ms),
                ended_at=ended,
                ms_played=ms,
                source=Play.Source.IMPORT,
                counted=ms >= 30_000,
                skipped=ms < 120_000,
            )
        )
    rollups_mark(user_id=alice.pk, since=min(p.ended_at for p in plays), until=now)
    rollups_refresh(alice.pk)
    return artist.pk, tracks, plays


def test_an_entity_page_shows_all_time_until_a_range_is_chosen(
    alice: User, artist_plays: tuple[int, list[Track], list[Play]]
) -> None:
    artist, _, _ = artist_plays
    page = signed_in(alice).get(reverse("artist", args=[artist])).text

    assert shown(page) == "All time"
    assert re.search(r'data-stat="plays">4<', page)
    assert "Most played tracks · All time" in page
    assert "Latest plays · All time" in page
    assert "Old song</a>: 2 plays" in page


def test_every_block_of_an_entity_page_follows_the_remembered_range(
    alice: User, artist_plays: tuple[int, list[Track], list[Play]]
) -> None:
    artist, _, _ = artist_plays
    client = signed_in(alice)
    client.get(reverse("home") + "?range=30d")

    page = client.get(reverse("artist", args=[artist])).text

    assert shown(page) == "30 days"
    assert "Your listening · 30 days" in page
    assert re.search(r'data-stat="plays">1<', page)  # the skip is a listen, not a play
    assert "Most played tracks · 30 days" in page
    assert "Recent song</a>: 1 play" in page  # "1 play(s)": the wording is not this test's
    assert "Old song" not in page  # neither most played nor among the latest plays
    assert "Latest plays · 30 days" in page


def test_an_entity_page_without_plays_in_the_range_says_so(
    alice: User, artist_plays: tuple[int, list[Track], list[Play]]
) -> None:
    _, tracks, _ = artist_plays
    page = signed_in(alice).get(reverse("track", args=[tracks[1].pk]) + "?range=7d").text

    assert "You have not played this track in this range." in page
