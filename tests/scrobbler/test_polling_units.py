"""Polling's bookkeeping without Spotify: claims, backoff, and storing recently-played items."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.utils import timezone

from scrobbler import polling
from scrobbler.epoch import ms_of
from scrobbler.models import FailureKind, Play, SpotifyAccount, Track, User
from scrobbler.plays import history_record
from tests.scrobbler.spotify_helpers import linked_account

pytestmark = pytest.mark.django_db


def track_object(n: int, *, duration_ms: int = 200_000, local: bool = False) -> dict[str, object]:
    ident = f"{n:022d}"
    return {
        "type": "track",
        "id": None if local else ident,
        "uri": f"spotify:local:Artist+{n}::Song+{n}:200" if local else f"spotify:track:{ident}",
        "name": f"Song {n}",
        "duration_ms": duration_ms,
        "is_local": local,
        "external_ids": {} if local else {"isrc": f"USAAA{n:07d}"},
        "artists": [{"name": f"Artist {n}", "uri": None if local else f"spotify:artist:{ident}"}],
        "album": {
            "name": f"Album {n}",
            "uri": None if local else f"spotify:album:{ident}",
            "artists": [
                {"name": "Various Artists", "uri": None if local else "spotify:artist:" + "V" * 22}
            ],
            "release_date": "2024-05-01",
            "images": [{"url": f"https://img.example/{n}.jpg", "width": 640, "height": 640}],
        },
    }


def item(n: int, played_at: dt.datetime, *, local: bool = False) -> dict[str, object]:
    return {
        "track": track_object(n, local=local),
        "played_at": played_at.isoformat().replace("+00:00", "Z"),
    }


def test_recently_played_items_become_plays_once(alice: User) -> None:
    now = timezone.now().replace(microsecond=0)
    items = [item(1, now), item(2, now - dt.timedelta(minutes=4)), item(3, now, local=True)]
    recorded, newest = history_record(user_id=alice.pk, items=items)
    assert recorded == 3
    assert newest == ms_of(now)
    again, _ = history_record(user_id=alice.pk, items=items)
    assert again == 0
    assert Play.objects.filter(user=alice).count() == 3
    play = Play.objects.get(track__uri="spotify:track:" + f"{1:022d}")
    assert play.ended_at == now
    assert play.started_at == now - dt.timedelta(milliseconds=200_000)
    assert play.source == Play.Source.HISTORY
    assert play.counted
    local = Track.objects.get(name="Song 3")
    assert local.uri.startswith("local:")
    assert len(local.uri) == len("local:") + 40
    album = Track.objects.get(name="Song 1").album
    assert album is not None
    assert album.image_url == "https://img.example/1.jpg"


def test_items_without_a_track_or_time_are_ignored(alice: User) -> None:
    now = timezone.now()
    items = [{"track": None, "played_at": now.isoformat()}, {"track": track_object(1)}, "junk"]
    recorded, _ = history_record(user_id=alice.pk, items=items)
    assert recorded == 0
    assert not Play.objects.exists()


def test_each_due_account_is_claimed_by_one_worker_only(alice: User, bob: User) -> None:
    a, b = linked_account(alice), linked_account(bob)
    now = timezone.now()
    first = polling.poll_claim_due(now=now, limit=10)
    second = polling.poll_claim_due(now=now, limit=10)
    assert sorted(first) == sorted([a.pk, b.pk])
    assert second == []
    # The lease runs out (a worker died mid-poll): someone else may take it over.
    later = polling.poll_claim_due(
        now=now + polling.CLAIM_LEASE + dt.timedelta(seconds=1), limit=10
    )
    assert sorted(later) == sorted(first)


def test_paused_unlinked_and_not_yet_due_accounts_are_not_claimed(alice: User, bob: User) -> None:
    now = timezone.now()
    linked_account(alice, polling_paused=True)
    linked_account(bob, next_poll_at=now + dt.timedelta(seconds=30))
    carol = User.objects.create(username="carol")
    linked_account(carol, status=SpotifyAccount.Status.NEEDS_RELINK)
    assert polling.poll_claim_due(now=now, limit=10) == []


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    rng = random.Random(1)
    delays = [polling.backoff_seconds(FailureKind.NETWORK, n, rng=rng) for n in range(1, 12)]
    first, cap = polling.BACKOFF[FailureKind.NETWORK]
    assert first / 2 <= delays[0] <= first
    assert all(d <= cap for d in delays)
    assert delays[-1] >= cap / 2
    assert delays[4] > delays[0]


def test_albums_are_credited_to_their_own_artists(alice: User) -> None:
    from scrobbler.models import Album

    history_record(user_id=alice.pk, items=[item(7, timezone.now())])
    album = Album.objects.get(name="Album 7")
    assert [a.name for a in album.artists.all()] == ["Various Artists"]
    track = Track.objects.get(name="Song 7")
    assert [a.name for a in track.artists.all()] == ["Artist 7"]
