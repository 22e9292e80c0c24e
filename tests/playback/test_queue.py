"""The play queue: order, next/previous at its ends, repeat, shuffle, editing, and whose it is."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from playback import queue, sessions
from playback.models import LibraryFile, PlaybackSession, QueueItem
from playback.sessions import Control, PlaybackError
from playback.snapshot import session_snapshot
from scrobbler.models import Album, Play, Playlist, PlaylistItem, Track, TrackLike, User
from tests.factories import AlbumFactory, ArtistFactory, TrackFactory
from tests.playback.test_sessions import T0, in_library

pytestmark = pytest.mark.django_db


class Player:
    """One user's laptop sending controls a second apart."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.device = sessions.device_register(user_id=user.pk, client_id="laptop-0001", name="L")
        self.seconds = 0.0

    def at(self, seconds: float | None = None) -> Control:
        self.seconds = self.seconds + 1 if seconds is None else seconds
        now = T0 + timedelta(seconds=self.seconds)
        return Control(user_id=self.user.pk, device=self.device, now=now)

    def playing(self) -> int | None:
        session = PlaybackSession.objects.get(user=self.user)
        return session.track_id if session.state == "playing" else None


@pytest.fixture
def tracks() -> list[Track]:
    return [in_library(TrackFactory.create(name=f"t{i}", duration_ms=100_000)) for i in range(5)]


@pytest.fixture
def player(alice: User) -> Player:
    return Player(alice)


def ids(tracks: list[Track]) -> list[int]:
    return [t.pk for t in tracks]


def test_next_walks_the_queue_and_stops_after_the_last(player: Player, tracks: list[Track]):
    queue.queue_play(player.at(), track_ids=ids(tracks[:3]))
    assert player.playing() == tracks[0].pk
    queue.playback_next(player.at())
    queue.playback_next(player.at())
    assert player.playing() == tracks[2].pk
    session = queue.playback_next(player.at())
    assert session.state == "stopped"
    assert session.position_ms == 0
    # Each track was heard for a second: three listens recorded, none counted.
    assert Play.objects.filter(user=player.user, source="local").count() == 3


def test_repeat_all_wraps_both_ways(player: Player, tracks: list[Track]):
    queue.queue_play(player.at(), track_ids=ids(tracks[:3]))
    queue.repeat_set(player.at(), mode="all")
    queue.playback_previous(player.at())  # 1 s in: to the previous entry, which wraps
    assert player.playing() == tracks[2].pk
    queue.playback_next(player.at())
    assert player.playing() == tracks[0].pk


def test_previous_restarts_a_track_that_played_a_while(player: Player, tracks: list[Track]):
    queue.queue_play(player.at(0), track_ids=ids(tracks[:3]), start=1)
    session = queue.playback_previous(player.at(10))
    assert session.track_id == tracks[1].pk
    assert session.position_ms == 0
    session = queue.playback_previous(player.at(11))
    assert session.track_id == tracks[0].pk
    # At the first entry without repeat, previous restarts it.
    session = queue.playback_previous(player.at(12))
    assert session.track_id == tracks[0].pk


def test_repeat_one_plays_the_track_again_on_end_but_next_moves_on(
    player: Player, tracks: list[Track]
):
    queue.queue_play(player.at(0), track_ids=ids(tracks[:2]))
    queue.repeat_set(player.at(1), mode="one")
    queue.playback_ended(player.at(100))
    assert player.playing() == tracks[0].pk
    queue.playback_ended(player.at(200))
    assert player.playing() == tracks[0].pk
    plays = Play.objects.filter(user=player.user, track=tracks[0], counted=True)
    assert plays.count() == 2  # two full listens
    queue.playback_next(player.at(201))
    assert player.playing() == tracks[1].pk


def test_ended_goes_on_to_the_next_and_finishes_the_queue(player: Player, tracks: list[Track]):
    queue.queue_play(player.at(0), track_ids=ids(tracks[:2]))
    queue.playback_ended(player.at(100))
    assert player.playing() == tracks[1].pk
    session = queue.playback_ended(player.at(200))
    assert session.state == "stopped"
    finished = Play.objects.filter(user=player.user, skipped=False, counted=True)
    assert finished.count() == 2


def test_shuffle_keeps_the_current_track_and_a_stable_order(player: Player, tracks: list[Track]):
    queue.queue_play(player.at(), track_ids=ids(tracks), start=2)
    queue.shuffle_set(player.at(), on=True, rng=random.Random(4))
    session = PlaybackSession.objects.get(user=player.user)
    order = queue.play_order(session)
    assert order[0] == session.current_item_id
    assert sorted(order) == sorted(QueueItem.objects.values_list("pk", flat=True))
    heard = [player.playing()]
    for _ in range(4):
        queue.playback_next(player.at())
        heard.append(player.playing())
    assert sorted(t or 0 for t in heard) == sorted(ids(tracks))  # every track once
    expected = dict(QueueItem.objects.values_list("pk", "track_id"))
    assert heard == [expected[pk] for pk in order]  # in the permutation's order
    # Switching off returns to the queue's own order, from where playback stands.
    queue.shuffle_set(player.at(), on=False)
    assert queue.play_order(PlaybackSession.objects.get(user=player.user)) == sorted(expected)


def test_play_next_goes_right_after_the_current_track_even_shuffled(
    player: Player, tracks: list[Track]
):
    queue.queue_play(player.at(), track_ids=ids(tracks[:3]))
    queue.shuffle_set(player.at(), on=True, rng=random.Random(1))
    queue.queue_add(player.at(), track_ids=[tracks[4].pk], play_next=True)
    queue.queue_add(player.at(), track_ids=[tracks[3].pk])
    queue.playback_next(player.at())
    assert player.playing() == tracks[4].pk
    order = queue.play_order(PlaybackSession.objects.get(user=player.user))
    last = QueueItem.objects.get(pk=order[-1])
    assert last.track_id == tracks[3].pk


def test_move_remove_and_clear(player: Player, tracks: list[Track]):
    queue.queue_play(player.at(), track_ids=ids(tracks))
    items = list(QueueItem.objects.order_by("position"))
    queue.queue_move(player.at(), item_id=items[4].pk, after=None)  # next up
    queue.queue_move(player.at(), item_id=items[2].pk, after=items[3].pk)
    order = list(QueueItem.objects.order_by("position").values_list("track_id", flat=True))
    assert order == ids([tracks[0], tracks[4], tracks[1], tracks[3], tracks[2]])
    queue.queue_remove(player.at(), item_ids=[items[1].pk, items[0].pk])
    # The entry playing was removed: its track plays on, and next starts the queue.
    assert player.playing() == tracks[0].pk
    queue.playback_next(player.at())
    assert player.playing() == tracks[4].pk
    queue.queue_clear(player.at())
    assert list(QueueItem.objects.values_list("track_id", flat=True)) == [tracks[4].pk]


def test_albums_artists_and_playlists_queue_in_their_order(alice: User, bob: User):
    album = AlbumFactory.create()
    artist = ArtistFactory.create()
    made = []
    for disc, number in [(2, 1), (1, 2), (1, 1)]:
        track = in_library(TrackFactory.create(album=album, artists=[artist]))
        LibraryFile.objects.filter(track=track).update(disc_number=disc, track_number=number)
        made.append(track.pk)
    in_album = [made[2], made[1], made[0]]
    assert queue.library_tracks(user_id=alice.pk, kind="album", item_id=album.pk) == in_album
    assert queue.library_tracks(user_id=alice.pk, kind="artist", item_id=artist.pk) == in_album
    not_local = TrackFactory.create()
    playlist = Playlist.objects.create(user=bob, spotify_id="p" * 22, name="Bob's", scanned_at=T0)
    for position, track_id in enumerate([made[1], not_local.pk, made[0]]):
        PlaylistItem.objects.create(playlist=playlist, track_id=track_id, position=position)
    assert queue.library_tracks(user_id=bob.pk, kind="playlist", item_id=playlist.pk) == [
        made[1],
        made[0],
    ]
    # Someone else's playlist is as empty as a made-up one.
    assert queue.library_tracks(user_id=alice.pk, kind="playlist", item_id=playlist.pk) == []
    with pytest.raises(PlaybackError):
        queue.library_tracks(user_id=alice.pk, kind="genre", item_id=1)


def test_likes_change_the_favourites(player: Player, tracks: list[Track]):
    queue.like_set(player.at(), track_id=tracks[0].pk, liked=True)
    assert TrackLike.objects.filter(user=player.user, track=tracks[0]).exists()
    queue.queue_play(player.at(), track_ids=[tracks[0].pk])
    assert session_snapshot(user_id=player.user.pk)["liked"] is True
    queue.like_set(player.at(), track_id=tracks[0].pk, liked=False)
    assert session_snapshot(user_id=player.user.pk)["liked"] is False


def test_the_player_likes_only_what_it_can_play(player: Player, tracks: list[Track]):
    # A like opens a track's dashboard page: liking any id would read any track's name.
    elsewhere = TrackFactory.create()
    with pytest.raises(PlaybackError, match="No such track"):
        queue.like_set(player.at(), track_id=elsewhere.pk, liked=True)
    assert not TrackLike.objects.exists()
    TrackLike.objects.create(user=player.user, track=elsewhere)
    queue.like_set(player.at(), track_id=elsewhere.pk, liked=False)  # unliking is always fine
    assert not TrackLike.objects.exists()


def test_the_snapshot_costs_the_same_whatever_the_queue_length(
    player: Player, tracks: list[Track], django_assert_max_num_queries: Any
):
    queue.queue_play(player.at(), track_ids=ids(tracks[:2]))
    with django_assert_max_num_queries(9) as short:
        session_snapshot(user_id=player.user.pk)
    many = [in_library(TrackFactory.create()).pk for _ in range(40)]
    queue.queue_add(player.at(), track_ids=many)
    with django_assert_max_num_queries(len(short.captured_queries)):
        snapshot = session_snapshot(user_id=player.user.pk)
    assert snapshot["queue"]["length"] == 42
    upcoming = [entry["track"]["id"] for entry in snapshot["queue"]["upcoming"]]
    assert upcoming == [tracks[1].pk, *many]


def post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


def test_the_queue_api_keeps_to_the_users_own_queue(alice: User, bob: User, tracks: list[Track]):
    bobs = Player(bob)
    queue.queue_play(bobs.at(), track_ids=ids(tracks[:2]))
    bobs_items = list(QueueItem.objects.filter(user=bob).values_list("pk", flat=True))
    client = Client()
    client.force_login(alice)
    post(client, "/api/devices", {"id": "alice-laptop", "name": "Laptop"})
    response = post(
        client, "/api/sessions/me/play", {"device": "alice-laptop", "tracks": ids(tracks[2:])}
    )
    assert response.status_code == 200
    assert response.json()["queue"]["length"] == 3
    moved = post(
        client,
        "/api/sessions/me/queue-move",
        {"device": "alice-laptop", "item": bobs_items[0], "after": None},
    )
    assert moved.status_code == 400
    post(client, "/api/sessions/me/queue-remove", {"device": "alice-laptop", "items": bobs_items})
    assert QueueItem.objects.filter(user=bob).count() == 2
    album = Album.objects.get(tracks=tracks[0])
    added = post(
        client, "/api/sessions/me/queue-add", {"device": "alice-laptop", "album": album.pk}
    )
    assert added.json()["queue"]["length"] == 4
    for body in [{"shuffle": "yes"}, {"repeat": "sometimes"}]:
        action, value = next(iter(body.items()))
        key = "on" if action == "shuffle" else "mode"
        response = post(
            client, f"/api/sessions/me/{action}", {"device": "alice-laptop", key: value}
        )
        assert response.status_code == 400


def test_moves_follow_the_shuffled_order_when_shuffle_is_on(player: Player, tracks: list[Track]):
    queue.queue_play(player.at(), track_ids=ids(tracks))
    queue.shuffle_set(player.at(), on=True, rng=random.Random(3))
    order = queue.play_order(PlaybackSession.objects.get(user=player.user))
    last = order[-1]
    queue.queue_move(player.at(), item_id=last, after=None)
    assert queue.play_order(PlaybackSession.objects.get(user=player.user))[1] == last
    queue.playback_next(player.at())
    assert player.playing() == QueueItem.objects.get(pk=last).track_id
    with pytest.raises(PlaybackError):
        queue.queue_move(player.at(), item_id=last, after=last)


def test_a_late_end_of_an_entry_no_longer_playing_changes_nothing(
    player: Player, tracks: list[Track]
):
    session = queue.queue_play(player.at(0), track_ids=ids(tracks[:3]))
    first = session.current_item_id
    queue.playback_next(player.at(99))  # next pressed just as the first track ends
    late = queue.playback_ended(player.at(100), item_id=first)
    assert player.playing() == tracks[1].pk
    assert late.revision == PlaybackSession.objects.get(user=player.user).revision
