from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries, Settings

from dashboard.favourites import favourite_tracks
from scrobbler.models import TrackLike, User
from tests.factories import ArtistFactory, PlayFactory, TrackFactory

pytestmark = pytest.mark.django_db


def test_a_track_becomes_a_favourite_at_the_threshold_of_counted_plays(
    alice: User, settings: Settings
) -> None:
    settings.FAVORITE_THRESHOLD = 3
    track = TrackFactory.create()
    for _ in range(2):
        PlayFactory.create(user=alice, track=track)
    PlayFactory.create(user=alice, track=track, counted=False, skipped=True)  # skips do not count
    assert list(favourite_tracks(alice)) == []
    PlayFactory.create(user=alice, track=track)
    (favourite,) = favourite_tracks(alice)
    assert favourite.entity_id == track.pk
    assert favourite.plays == 3


def test_other_users_plays_do_not_make_my_favourites(
    alice: User, bob: User, settings: Settings
) -> None:
    settings.FAVORITE_THRESHOLD = 1
    PlayFactory.create(user=bob)
    assert list(favourite_tracks(alice)) == []


def test_like_and_unlike_from_the_page(client: Client, alice: User, bob: User) -> None:
    track = TrackFactory.create(name="Liked song")
    PlayFactory.create(user=alice, track=track, counted=False)  # likes are of tracks one has
    client.force_login(alice)
    response = client.post(reverse("track-like", args=[track.pk]), {"next": "/"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert TrackLike.objects.filter(user=alice, track=track).exists()
    client.post(reverse("track-like", args=[track.pk]))  # liking twice is still one like
    assert TrackLike.objects.count() == 1
    assert "Liked song" in client.get(reverse("favourites")).content.decode()
    assert list(favourite_tracks(bob)) == []
    client.post(reverse("track-unlike", args=[track.pk]))
    assert not TrackLike.objects.exists()


def test_htmx_like_swaps_just_the_button(client: Client, alice: User) -> None:
    track = TrackFactory.create()
    PlayFactory.create(user=alice, track=track)
    client.force_login(alice)
    response = client.post(reverse("track-like", args=[track.pk]), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<form class="like"')
    assert reverse("track-unlike", args=[track.pk]) in html


def test_likes_need_a_signed_in_user_and_a_real_track(client: Client, alice: User) -> None:
    track = TrackFactory.create()
    response = client.post(reverse("track-like", args=[track.pk]))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    client.force_login(alice)
    assert client.post(reverse("track-like", args=[999_999])).status_code == 404
    assert client.get(reverse("track-like", args=[track.pk])).status_code == 405
    assert not TrackLike.objects.exists()


def test_favourites_page_without_n_plus_one(
    client: Client,
    alice: User,
    settings: Settings,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    settings.FAVORITE_THRESHOLD = 1
    for n in range(12):
        PlayFactory.create(
            user=alice, track=TrackFactory.create(name=f"Fav {n}", artists=[ArtistFactory.create()])
        )
    liked = TrackFactory.create(name="Liked, never played")
    TrackLike.objects.create(user=alice, track=liked)
    client.force_login(alice)
    with django_assert_max_num_queries(9):
        page = client.get(reverse("favourites")).content.decode()
    assert page.count("Fav ") == 12
    assert "Liked, never played" in page
