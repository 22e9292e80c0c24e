"""No dead ends for a new user: every page says what will appear and how to get there (link
Spotify, import history), and a year before the first play says "No plays in <year>"."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from scrobbler.models import User
from tests.factories import PlayFactory

pytestmark = pytest.mark.django_db

NEXT_STEPS = ('href="/spotify/', 'href="/imports/')


@pytest.mark.parametrize(
    "url",
    ["/", "/top/tracks/", "/top/artists/", "/when/", "/habits/", "/recent/", "/on-this-day/"],
)
def test_a_new_user_is_told_how_plays_arrive(client: Client, alice: User, url: str) -> None:
    client.force_login(alice)
    page = client.get(url).text
    assert "No plays yet" in page or "Nothing played on" in page
    assert 'href="/imports/"' in page
    # No empty grid of sections still to load for someone who has nothing to show.
    assert 'class="dash-section"' not in page


def test_a_year_without_plays_says_so_and_links_to_the_years_with_plays(
    client: Client, alice: User
) -> None:
    PlayFactory.create(user=alice, ended_at=timezone.now() - dt.timedelta(days=1))
    client.force_login(alice)
    page = client.get(reverse("year-review", args=[1990])).text
    assert "No plays in 1990" in page
    this_year = timezone.now().year
    assert f'href="/year/{this_year}/"' in page
    assert 'id="section-totals"' not in page
    # A year with plays still gets its review.
    assert 'id="section-totals"' in client.get(reverse("year-review", args=[this_year])).text


def test_a_user_with_plays_gets_the_sections(client: Client, alice: User, bob: User) -> None:
    PlayFactory.create(user=bob)  # someone else's plays do not count as alice's
    client.force_login(alice)
    assert "No plays yet" in client.get("/").text
    PlayFactory.create(user=alice)
    page = client.get("/").text
    assert "No plays yet" not in page
    assert 'id="section-totals"' in page


def test_other_empty_lists_say_what_comes_next(client: Client, alice: User) -> None:
    client.force_login(alice)
    assert "No favourites yet" in client.get("/favourites/").text
    assert "No imports yet. Upload" in client.get("/imports/").text
    assert "Settings</a>" in client.get("/global/").text
    library = client.get("/library/").text
    assert "The library is empty" in library
    assert "Ask whoever runs this Encore" in library  # not staff: scanning is not theirs to do
