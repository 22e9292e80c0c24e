"""The home page: a welcome for visitors, the overview and Spotify notices for listeners, and the recent plays page."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from scrobbler.models import User
from tests.factories import ArtistFactory, PlayFactory, TrackFactory

pytestmark = pytest.mark.django_db


def test_anonymous_home_invites_to_sign_in(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert reverse("login") in response.text
    assert reverse("signup") in response.text


def test_recent_plays_lists_only_my_plays_without_n_plus_one(
    client: Client, alice: User, bob: User, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    for n in range(15):
        PlayFactory.create(
            user=alice,
            track=TrackFactory.create(
                name=f"Mine {n}", artists=[ArtistFactory.create(), ArtistFactory.create()]
            ),
        )
    PlayFactory.create(user=bob, track=TrackFactory.create(name="Not mine"))
    PlayFactory.create(
        user=alice, track=TrackFactory.create(name="Skipped one"), skipped=True, counted=False
    )
    client.force_login(alice)
    with django_assert_max_num_queries(6):
        response = client.get(reverse("recent"))
    assert "Mine 14" in response.text
    assert "Skipped one" in response.text
    assert "Not mine" not in response.text
    assert len(re.findall(r"<tr class=", response.text)) == 16
    assert response.text.count(">skipped</span>") == 1


def test_home_tells_me_when_spotify_needs_relinking(client: Client, alice: User) -> None:
    from scrobbler.models import SpotifyAccount
    from tests.scrobbler.spotify_helpers import linked_account

    client.force_login(alice)
    assert "Spotify is not linked yet" in client.get("/").text
    account = linked_account(alice)
    assert "notice" not in client.get("/").text
    SpotifyAccount.objects.filter(pk=account.pk).update(status=SpotifyAccount.Status.NEEDS_RELINK)
    assert "Link Spotify again" in client.get("/").text


def test_home_warns_before_spotify_permission_ends(client: Client, alice: User) -> None:
    import datetime as dt

    from django.utils import timezone

    from tests.scrobbler.spotify_helpers import linked_account

    linked_account(alice, consented_at=timezone.now() - dt.timedelta(days=175))
    client.force_login(alice)
    assert "permission ends on" in client.get("/").text
