"""Pages write counts the one way (ops/formatting.py): "1 play", not "1 plays"; thousands
separated; and an empty previous period in words, not "0, new" or "- before"."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from scrobbler.models import User
from tests.factories import ArtistFactory, PlayFactory, TrackFactory

pytestmark = pytest.mark.django_db


def test_one_play_is_one_play(client: Client, alice: User) -> None:
    artist = ArtistFactory.create(name="Solo Artist")
    track = TrackFactory.create(name="Only Song", artists=[artist])
    PlayFactory.create(user=alice, track=track, ended_at=timezone.now() - dt.timedelta(hours=1))
    client.force_login(alice)

    page = client.get(reverse("artist", args=[artist.pk])).text
    assert "Only Song</a>: 1 play<" in page

    highlights = client.get(f"{reverse('dashboard-section', args=['highlights'])}?range=7d").text
    assert ": 1 play<" in highlights
    assert "1 plays" not in page + highlights


def test_an_empty_previous_period_is_said_in_words(client: Client, alice: User) -> None:
    client.force_login(alice)
    totals = client.get(f"{reverse('dashboard-section', args=['totals'])}?range=30d").text
    assert "no plays before" in totals
    assert "- before" not in totals
    assert ">new<" not in totals  # nothing now and nothing before is not "new"


def test_a_first_period_with_plays_is_new(client: Client, alice: User) -> None:
    PlayFactory.create(user=alice, ended_at=timezone.now() - dt.timedelta(hours=1))
    client.force_login(alice)
    totals = client.get(f"{reverse('dashboard-section', args=['totals'])}?range=30d").text
    assert ">new<" in totals
    assert 'data-stat="plays">1<' in totals
