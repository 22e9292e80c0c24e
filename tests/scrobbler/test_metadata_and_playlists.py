"""Background catalog enrichment and playlist scans, against the simulator."""

from __future__ import annotations

import pytest
from pytest_django import Settings

from scrobbler import metadata, playlists, polling
from scrobbler.models import Album, Artist, Playlist, PlaylistItem, PollMode, Track, User
from tests.scrobbler.spotify_helpers import sim_linked_account
from tests.spotify_sim.conftest import Sim

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def large_metadata_batches(settings: Settings) -> None:
    settings.METADATA_BATCH_SIZE = 500


def test_artist_images_are_fetched_once_per_artist(alice: User, spotify: Sim) -> None:
    account = sim_linked_account(alice, spotify, "alice-sp", poll_mode=PollMode.HISTORY)
    polling.poll_accounts([account.pk], force=True)
    spotify_artists = Artist.objects.filter(uri__startswith="spotify:artist:")
    assert spotify_artists.exists()
    assert not spotify_artists.exclude(image_url="").exists()  # poll responses carry no images
    calls_before = len(spotify.control("GET", "accounts/alice-sp/requests")["requests"])

    run = metadata.metadata_fetch_missing()
    assert run.fetched == spotify_artists.count()
    assert not spotify_artists.filter(image_url="").exists()
    assert not spotify_artists.filter(details_fetched_at__isnull=True).exists()
    assert metadata.metadata_fetch_missing().fetched == 0  # nothing is asked for twice
    calls = len(spotify.control("GET", "accounts/alice-sp/requests")["requests"]) - calls_before
    assert calls == run.fetched


def test_a_rate_limit_ends_the_run_and_the_rest_waits(alice: User, spotify: Sim) -> None:
    account = sim_linked_account(alice, spotify, "alice-sp", poll_mode=PollMode.HISTORY)
    polling.poll_accounts([account.pk], force=True)
    spotify.fault(kind="rate_limit", endpoint="v1/artists/*", retry_after=60, count=1)
    run = metadata.metadata_fetch_missing()
    assert run.fetched == 0
    assert "rate limited" in run.stopped_by
    assert metadata.metadata_fetch_missing().fetched > 0


def test_unknown_ids_are_marked_and_not_asked_again(alice: User, spotify: Sim) -> None:
    sim_linked_account(alice, spotify, "alice-sp")
    ghost = Artist.objects.create(uri="spotify:artist:0000000000000000000000", name="Ghost")
    Album.objects.create(uri="spotify:album:not-a-valid-id", name="Bad id")  # never requested
    assert metadata.metadata_fetch_missing().fetched == 1
    ghost.refresh_from_db()
    assert ghost.details_fetched_at is not None
    assert ghost.image_url == ""
    assert metadata.metadata_fetch_missing().fetched == 0


def test_playlists_of_the_owner_are_scanned_and_linked_to_tracks(alice: User, spotify: Sim) -> None:
    account = sim_linked_account(alice, spotify, "alice-sp")
    listing = spotify.get("me/playlists", spotify.token("alice-sp"), limit=50).json()
    expected = listing["items"]
    assert playlists.playlists_scan(account_id=account.pk) == len(expected)
    stored = Playlist.objects.filter(user=alice)
    assert stored.count() == len(expected)
    first = stored.get(spotify_id=expected[0]["id"])
    assert first.items.count() == (expected[0].get("items") or expected[0]["tracks"])["total"]
    assert PlaylistItem.objects.filter(playlist__user=alice).exists()
    assert Track.objects.filter(playlists__user=alice).exists()
    # Unchanged snapshots are not fetched again.
    assert playlists.playlists_scan(account_id=account.pk) == 0


def test_other_users_never_see_my_playlists(alice: User, bob: User, spotify: Sim) -> None:
    playlists.playlists_scan(account_id=sim_linked_account(alice, spotify, "alice-sp").pk)
    assert not Playlist.objects.filter(user=bob).exists()
    assert Playlist.objects.filter(user=alice).exists()
