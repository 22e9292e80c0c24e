"""A `local:` track merged into its Spotify twin while it is queued or playing (issue 18): the
queue and the session keep it, as the Spotify track, and each session it touched gets one new
revision and one event after commit, as a control would."""

from __future__ import annotations

from typing import Any

import pytest

from playback import events, queue, sessions
from playback.models import PlaybackSession, QueueItem
from playback.snapshot import session_snapshot
from scrobbler.models import Play, Track, User
from tests.factories import TrackFactory, UserFactory
from tests.playback.test_sessions import at, device, in_library
from tests.scrobbler.test_track_merge import local_song, spotify_reveals

pytestmark = pytest.mark.django_db


@pytest.fixture
def local() -> Track:
    return in_library(local_song())


@pytest.fixture
def other() -> Track:
    return in_library(TrackFactory.create())


def queued(user: User) -> list[tuple[int, int, int]]:
    return list(
        QueueItem.objects.filter(user=user)
        .order_by("position")
        .values_list("pk", "position", "track_id")
    )


def merge_and_commit(
    capture: Any, sent: list[tuple[int, events.Event]]
) -> tuple[Track, list[tuple[int, int, str]]]:
    """The Spotify twin turns up; nothing is published before the merge commits."""
    with capture(execute=False) as callbacks:
        real = spotify_reveals()
        assert sent == []
    for callback in callbacks:
        callback()
    return real, [(user_id, e["rev"], e["type"]) for user_id, e in sent]


def test_a_queued_local_track_stays_queued_in_its_place_as_the_spotify_track(
    alice: User,
    local: Track,
    other: Track,
    sent: list[Any],
    django_capture_on_commit_callbacks: Any,
):
    laptop = device(alice)
    queue.queue_play(at(alice, laptop, 0), track_ids=[other.pk, local.pk, other.pk])
    before = queued(alice)
    rev = PlaybackSession.objects.get(user=alice).revision
    sent.clear()

    real, published = merge_and_commit(django_capture_on_commit_callbacks, sent)

    assert queued(alice) == [(pk, n, real.pk if t == local.pk else t) for pk, n, t in before]
    session = PlaybackSession.objects.get(user=alice)
    assert session.track_id == other.pk
    assert session.revision == rev + 1
    assert published == [(alice.pk, rev + 1, "queue")]
    snapshot = session_snapshot(user_id=alice.pk)
    assert [entry["track"]["id"] for entry in snapshot["queue"]["upcoming"]] == [real.pk, other.pk]
    assert not Track.objects.filter(pk=local.pk).exists()


def test_the_local_track_playing_becomes_the_spotify_track_where_it_stands(
    alice: User, local: Track, sent: list[Any], django_capture_on_commit_callbacks: Any
):
    laptop = device(alice)
    queue.queue_play(at(alice, laptop, 0), track_ids=[local.pk], position_ms=10_000)
    playing = PlaybackSession.objects.get(user=alice)
    sent.clear()

    real, published = merge_and_commit(django_capture_on_commit_callbacks, sent)

    session = PlaybackSession.objects.get(user=alice)
    assert session.track_id == real.pk
    assert session.current_item_id == playing.current_item_id
    kept = ["state", "position_ms", "changed_at", "listen_started_at", "active_device_id"]
    assert [getattr(session, f) for f in kept] == [getattr(playing, f) for f in kept]
    assert session.revision == playing.revision + 1
    assert published == [(alice.pk, playing.revision + 1, "timeline")]
    assert session_snapshot(user_id=alice.pk)["track"]["id"] == real.pk
    # The listen goes on, and is the Spotify track's.
    sessions.playback_stop(at(alice, laptop, 60))
    assert list(Play.objects.filter(user=alice).values_list("track_id", "ms_played")) == [
        (real.pk, 60_000)
    ]


def test_every_users_playback_of_the_local_track_follows_and_nobody_elses_changes(
    alice: User,
    bob: User,
    local: Track,
    other: Track,
    sent: list[Any],
    django_capture_on_commit_callbacks: Any,
):
    queue.queue_play(at(alice, device(alice), 0), track_ids=[local.pk])
    queue.queue_play(at(bob, device(bob, "bob-phone-01"), 0), track_ids=[other.pk, local.pk])
    carol = UserFactory.create(username="carol")
    queue.queue_play(at(carol, device(carol, "carol-pc-01"), 0), track_ids=[other.pk])
    revs = dict(PlaybackSession.objects.values_list("user_id", "revision"))
    carol_before = queued(carol)
    sent.clear()

    real, published = merge_and_commit(django_capture_on_commit_callbacks, sent)

    assert sorted(published) == sorted(
        [(alice.pk, revs[alice.pk] + 1, "timeline"), (bob.pk, revs[bob.pk] + 1, "queue")]
    )
    assert dict(PlaybackSession.objects.values_list("user_id", "revision")) == {
        alice.pk: revs[alice.pk] + 1,
        bob.pk: revs[bob.pk] + 1,
        carol.pk: revs[carol.pk],
    }
    assert [t for _, _, t in queued(alice)] == [real.pk]
    assert [t for _, _, t in queued(bob)] == [other.pk, real.pk]
    assert queued(carol) == carol_before
    assert PlaybackSession.objects.get(user=bob).track_id == other.pk
