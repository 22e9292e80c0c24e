from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from dashboard import tasks
from dashboard.global_stats import (
    CACHE_KEY,
    CACHE_VERSION,
    TOP_SIZE,
    GlobalStats,
    global_stats,
    global_stats_compute,
    global_stats_refresh,
)
from scrobbler.models import (
    Album,
    Artist,
    EntityKind,
    EntityTotal,
    ListeningHour,
    Track,
    User,
)
from scrobbler.rollups import rollups_mark, rollups_refresh
from tests.factories import AlbumFactory, ArtistFactory, PlayFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db

HOUR_MS = 3_600_000


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def sharing(name: str, *, share: bool = True, active: bool = True) -> User:
    # Names that cannot occur by chance in a page, so the tests can look for them.
    return UserFactory.create(username=f"zz-{name}-listener", share_stats=share, is_active=active)


def heard(user: User, entity: Track | Artist | Album, plays: int) -> None:
    """An all-time total, as the rollups would hold it."""
    kind = {Track: EntityKind.TRACK, Artist: EntityKind.ARTIST, Album: EntityKind.ALBUM}
    EntityTotal.objects.create(
        user=user,
        kind=kind[type(entity)],
        entity_id=entity.pk,
        listens=plays,
        plays=plays,
        skips=0,
        ms_played=plays * 180_000,
    )


def hour(user: User, at: int, plays: int, *, day: int = 20_000, ms: int | None = None) -> None:
    ListeningHour.objects.create(
        user=user,
        day=day,
        hour=at,
        weekday=(day + 3) % 7,
        listens=plays,
        plays=plays,
        skips=0,
        ms_played=plays * 180_000 if ms is None else ms,
    )


def names(entries: tuple) -> list[tuple[str, int, int]]:
    return [(e.name, e.plays, e.listeners) for e in entries]


def same_numbers(a: GlobalStats, b: GlobalStats) -> bool:
    return dataclasses.replace(a, computed_at=b.computed_at) == b


# --- What is counted -----------------------------------------------------------------------


def test_totals_are_sums_over_listeners_who_opted_in() -> None:
    alice, bob = sharing("alice"), sharing("bob")
    sharing("quiet")  # opted in, never listened: still a listener who shares
    hour(alice, 8, 4, ms=HOUR_MS)
    hour(alice, 8, 1, day=20_001, ms=HOUR_MS // 2)
    hour(bob, 20, 6, ms=2 * HOUR_MS)

    stats = global_stats_compute()

    assert stats.listeners == 3
    assert stats.plays == 11
    assert stats.ms_played == 3.5 * HOUR_MS
    assert stats.hours == 3.5
    assert stats.plays_by_hour[8] == 5
    assert stats.plays_by_hour[20] == 6
    assert sum(stats.plays_by_hour) == 11
    assert len(stats.plays_by_hour) == 24


def test_a_listener_who_did_not_opt_in_changes_nothing() -> None:
    alice, bob = sharing("alice"), sharing("bob")
    track, other = TrackFactory.create(), TrackFactory.create()
    heard(alice, track, 3)
    heard(bob, other, 2)
    hour(alice, 9, 3)
    hour(bob, 9, 2)
    before = global_stats_compute()

    carol = sharing("carol", share=False)
    dave = sharing("dave", active=False)  # opted in, but the account is deactivated
    for user in (carol, dave):
        heard(user, track, 100)
        heard(user, TrackFactory.create(), 500)
        heard(user, ArtistFactory.create(), 500)
        heard(user, AlbumFactory.create(), 500)
        hour(user, 3, 600)
    after = global_stats_compute()

    assert same_numbers(after, before)
    # …and it is the opt-in that kept carol out: once she shares, she counts.
    carol.share_stats = True
    carol.save(update_fields=["share_stats"])
    shared = global_stats_compute()
    assert shared.listeners == before.listeners + 1
    assert shared.plays == before.plays + 600
    assert shared.tracks[1].name == track.name
    assert (shared.tracks[1].plays, shared.tracks[1].listeners) == (103, 2)


def test_tops_are_ordered_by_plays_across_listeners_with_listener_counts() -> None:
    alice, bob, carol = sharing("alice"), sharing("bob"), sharing("carol")
    first = ArtistFactory.create(name="First Artist")
    second = ArtistFactory.create(name="Second Artist")
    album = AlbumFactory.create(name="Shared Album")
    album.artists.add(first)
    hit = TrackFactory.create(name="Hit", album=album, artists=[first, second])
    deep_cut = TrackFactory.create(name="Deep cut", album=album, artists=[second])
    solo = TrackFactory.create(name="Solo")
    heard(alice, hit, 5)
    heard(bob, hit, 3)
    heard(carol, hit, 1)
    heard(alice, deep_cut, 10)  # one listener with many plays beats three with fewer
    heard(bob, solo, 2)
    heard(carol, TrackFactory.create(name="Never counted"), 0)  # heard, never long enough
    heard(alice, first, 15)
    heard(bob, second, 40)
    heard(carol, second, 2)
    heard(alice, album, 15)

    stats = global_stats_compute()

    assert names(stats.tracks) == [("Deep cut", 10, 1), ("Hit", 9, 3), ("Solo", 2, 1)]
    assert [e.rank for e in stats.tracks] == [1, 2, 3]
    assert sorted(stats.tracks[1].artists) == ["First Artist", "Second Artist"]
    assert stats.tracks[1].entity_id == hit.pk
    assert names(stats.artists) == [("Second Artist", 42, 2), ("First Artist", 15, 1)]
    assert stats.artists[0].artists == ()
    assert names(stats.albums) == [("Shared Album", 15, 1)]
    assert stats.albums[0].artists == ("First Artist",)


def test_a_top_keeps_the_twenty_most_played_and_ties_share_a_rank() -> None:
    alice = sharing("alice")
    tracks = [TrackFactory.create(name=f"Song {n:02d}") for n in range(TOP_SIZE + 5)]
    for n, track in enumerate(tracks):
        heard(alice, track, 100 - n)
    EntityTotal.objects.filter(entity_id=tracks[2].pk).update(plays=99)  # ties the second

    top = global_stats_compute().tracks

    assert len(top) == TOP_SIZE
    assert [e.name for e in top][:4] == ["Song 00", "Song 01", "Song 02", "Song 03"]
    assert [e.rank for e in top][:4] == [1, 2, 2, 4]
    assert [e.plays for e in top] == sorted((e.plays for e in top), reverse=True)


def test_plays_recorded_through_the_rollups_are_counted_in_each_listeners_local_hour() -> None:
    alice = sharing("alice")
    tokyo = sharing("tokyo")
    tokyo.time_zone = "Asia/Tokyo"
    tokyo.save(update_fields=["time_zone"])
    track = TrackFactory.create(name="Morning song")
    evening = dt.datetime(2024, 3, 5, 20, 30, tzinfo=dt.UTC)
    for user in (alice, tokyo):
        for minutes in (0, 5, 10):
            PlayFactory.create(
                user=user, track=track, ended_at=evening + dt.timedelta(minutes=minutes)
            )
        rollups_mark(user_id=user.pk, since=evening, until=evening + dt.timedelta(minutes=10))
        rollups_refresh(user.pk)

    stats = global_stats_compute()

    assert stats.plays == 6
    assert stats.ms_played == 6 * 180_000
    assert stats.plays_by_hour[20] == 3  # UTC
    assert stats.plays_by_hour[5] == 3  # 20:30 UTC is 05:30 the next morning in Tokyo
    assert names(stats.tracks) == [("Morning song", 6, 2)]
    assert stats.artists[0].plays == stats.albums[0].plays == 6


def test_computing_takes_a_fixed_number_of_queries(
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    users = [sharing(f"u{n}") for n in range(4)]
    for n in range(TOP_SIZE + 5):
        track = TrackFactory.create(artists=[ArtistFactory.create(), ArtistFactory.create()])
        album = track.album
        assert album is not None
        album.artists.add(*track.artists.all())
        for user in users:
            heard(user, track, n + 1)
            heard(user, album, n + 1)
            for artist in track.artists.all():
                heard(user, artist, n + 1)
        hour(users[n % 4], n % 24, n + 1, day=20_000 + n)
    # Listeners, hours, and per kind the top and its names (tracks and albums: with artists).
    with django_assert_max_num_queries(10):
        stats = global_stats_compute()
    assert len(stats.tracks) == len(stats.artists) == len(stats.albums) == TOP_SIZE
    assert all(len(entry.artists) == 2 for entry in stats.tracks + stats.albums)


# --- Cache and refresh -----------------------------------------------------------------------


def test_the_second_call_is_served_from_the_cache(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    heard(sharing("alice"), TrackFactory.create(), 3)
    first = global_stats()
    with django_assert_num_queries(0):
        again = global_stats()
    assert again == first
    assert cache.get(CACHE_KEY, version=CACHE_VERSION) == first


def test_a_refresh_replaces_the_cached_value() -> None:
    alice = sharing("alice")
    hour(alice, 10, 2)
    assert global_stats().plays == 2
    hour(alice, 11, 5)
    assert global_stats().plays == 2  # cached
    refreshed = global_stats_refresh()
    assert refreshed.plays == 7
    assert global_stats() == refreshed


def test_the_beat_task_refreshes_the_cache() -> None:
    hour(sharing("alice"), 10, 2)
    assert global_stats().plays == 2
    hour(sharing("bob"), 10, 3)
    tasks.global_stats_refresh.apply().get()
    assert global_stats().plays == 5
    entry = settings.CELERY_BEAT_SCHEDULE["global-stats"]
    assert entry["task"] == tasks.global_stats_refresh.name == "scrobbler.global_stats_refresh"
    assert entry["schedule"] == settings.GLOBAL_STATS_SECONDS
    assert 0 < entry["options"]["expires"] < entry["schedule"]  # type: ignore[index]


def test_the_cached_value_outlives_the_refresh_period(monkeypatch: pytest.MonkeyPatch) -> None:
    """So the next refresh replaces it before a visitor finds the cache empty."""
    timeouts = []
    real_set = cache.set

    def spy(key: str, value: object, timeout: float, version: int) -> None:
        timeouts.append(timeout)
        real_set(key, value, timeout=timeout, version=version)

    monkeypatch.setattr(cache, "set", spy)
    global_stats_refresh()
    assert timeouts[0] > settings.GLOBAL_STATS_SECONDS


def test_a_value_of_another_shape_in_the_cache_is_recomputed() -> None:
    hour(sharing("alice"), 10, 2)
    cache.set(CACHE_KEY, {"plays": 999}, version=CACHE_VERSION)
    assert global_stats().plays == 2


# --- The page ---------------------------------------------------------------------------------


@pytest.fixture
def listeners() -> list[User]:
    alice, bob = sharing("alice"), sharing("bob")
    private = sharing("private", share=False)
    artist = ArtistFactory.create(name="Public Artist")
    track = TrackFactory.create(name="Public Song", artists=[artist])
    heard(alice, track, 4)
    heard(bob, track, 2)
    heard(alice, artist, 4)
    heard(private, TrackFactory.create(name="Private Song"), 50)
    hour(alice, 21, 4)
    hour(bob, 7, 2)
    return [alice, bob, private]


def main_part(html: str) -> str:
    return html.split('<main id="main">', 1)[1]


def test_the_page_is_public_and_shows_no_user(
    client: Client,
    listeners: list[User],
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    with django_assert_max_num_queries(10):
        response = client.get(reverse("global-stats"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Public Song" in html
    assert "Public Artist" in html
    assert "Private Song" not in html
    assert "Account settings" in html
    assert "Plays by hour of day" in html
    for user in User.objects.all():
        assert user.username not in html
        assert user.email not in html
        assert str(user.public_id) not in html


def test_a_signed_in_listener_sees_no_other_user(
    client: Client,
    listeners: list[User],
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    alice = listeners[0]
    client.force_login(alice)
    with django_assert_max_num_queries(15):
        response = client.get(reverse("global-stats"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Public Song" in html
    assert alice.username not in main_part(html)  # only in the top bar, as on every page
    for user in listeners[1:]:
        assert user.username not in html


def test_a_warm_page_reads_nothing_but_the_session(
    client: Client,
    listeners: list[User],
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    global_stats_refresh()
    with django_assert_max_num_queries(0):
        assert client.get(reverse("global-stats")).status_code == 200
    client.force_login(listeners[0])
    with django_assert_max_num_queries(4):
        assert client.get(reverse("global-stats")).status_code == 200


def test_the_page_has_no_inline_styles_or_scripts(client: Client, listeners: list[User]) -> None:
    html = client.get(reverse("global-stats")).content.decode()
    assert " style=" not in html
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", html))


def test_the_page_is_read_only(client: Client) -> None:
    assert client.post(reverse("global-stats")).status_code == 405


def test_every_visitor_finds_the_link_in_the_top_bar(client: Client, alice: User) -> None:
    link = f'href="{reverse("global-stats")}"'
    assert link in client.get(reverse("login")).content.decode()
    client.force_login(alice)
    assert link in client.get(reverse("favourites")).content.decode()
