"""The playback session's timeline, local plays, and the JSON API (devices, controls, tokens)."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from pytest_django import Settings

from playback import queue, sessions
from playback.models import Device, LibraryFile, PlaybackSession
from playback.sessions import Control, PlaybackError
from playback.tokens import media_file, media_grant
from scrobbler.models import EntityTotal, Play, Track, User
from tests.factories import TrackFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def media_allows(token: str, *, user: User | None, track_id: int) -> bool:
    """What the media endpoint checks: a genuine, fresh token for this track, and `user`'s
    signed-in session (a new one; None: nobody signed in) allowed by it."""
    grant = media_grant(token)
    if grant is None or grant.track_id != track_id or user is None:
        return False
    client = Client()
    client.force_login(user)
    return media_file(grant, client.session.session_key or "") != "refused"


def in_library(track: Track) -> Track:
    path = f"{track.name}.flac".encode()
    LibraryFile.objects.create(
        path=path,
        path_key=hashlib.sha1(path).hexdigest(),  # noqa: S324 - a key, not security
        display_path=path.decode(),
        size=1000,
        mtime_ns=0,
        track=track,
        scanned_at=T0,
    )
    return track


@pytest.fixture
def track() -> Track:
    return in_library(TrackFactory.create(duration_ms=200_000))


def device(user: User, client_id: str = "laptop-0001") -> Device:
    return sessions.device_register(user_id=user.pk, client_id=client_id, name="Laptop")


def at(user: User, dev: Device, seconds: float) -> Control:
    return Control(user_id=user.pk, device=dev, now=T0 + timedelta(seconds=seconds))


def play_track(control: Control, *, track_id: int, position_ms: int = 0) -> PlaybackSession:
    return queue.queue_play(control, track_ids=[track_id], position_ms=position_ms)


def local_plays(user: User) -> list[Play]:
    return list(Play.objects.filter(user=user, source=Play.Source.LOCAL).order_by("ended_at"))


# --- the timeline -------------------------------------------------------------------------------


def test_position_is_projected_while_playing_and_stops_at_the_end(alice: User, track: Track):
    laptop = device(alice)
    session = play_track(at(alice, laptop, 0), track_id=track.pk, position_ms=10_000)
    assert sessions.position_at(session, T0 + timedelta(seconds=5)) == 15_000
    assert sessions.position_at(session, T0 + timedelta(hours=1)) == 200_000
    session = sessions.playback_pause(at(alice, laptop, 20))
    assert session.position_ms == 30_000
    assert sessions.position_at(session, T0 + timedelta(hours=1)) == 30_000


def test_pause_then_resume_is_one_play_of_the_time_heard(alice: User, track: Track):
    laptop = device(alice)
    play_track(at(alice, laptop, 0), track_id=track.pk)
    sessions.playback_pause(at(alice, laptop, 20))
    sessions.playback_resume(at(alice, laptop, 600))  # ten minutes paused are not heard
    sessions.playback_stop(at(alice, laptop, 625))
    [play] = local_plays(alice)
    assert play.ms_played == 45_000
    assert play.counted
    assert play.skipped
    assert play.started_at == T0
    assert play.ended_at == T0 + timedelta(seconds=625)


def test_a_short_listen_is_stored_but_not_counted(alice: User, track: Track):
    laptop = device(alice)
    play_track(at(alice, laptop, 0), track_id=track.pk)
    other = in_library(TrackFactory.create(duration_ms=100_000))
    play_track(at(alice, laptop, 12), track_id=other.pk)
    [play] = local_plays(alice)
    assert (play.track_id, play.ms_played, play.counted, play.skipped) == (
        track.pk,
        12_000,
        False,
        True,
    )


def test_the_users_own_threshold_applies_to_local_plays(alice: User, track: Track):
    alice.play_min_seconds = 10
    alice.save()
    laptop = device(alice)
    play_track(at(alice, laptop, 0), track_id=track.pk)
    sessions.playback_stop(at(alice, laptop, 12))
    assert local_plays(alice)[0].counted


def test_a_track_played_out_is_finished_not_skipped(alice: User, track: Track):
    laptop = device(alice)
    play_track(at(alice, laptop, 0), track_id=track.pk)
    queue.playback_ended(at(alice, laptop, 200))
    [play] = local_plays(alice)
    assert (play.ms_played, play.counted, play.skipped) == (200_000, True, False)


def test_a_speaker_claiming_the_end_early_is_held_to_the_timeline(alice: User, track: Track):
    laptop = device(alice)
    play_track(at(alice, laptop, 0), track_id=track.pk)
    sessions.playback_seek(at(alice, laptop, 5), position_ms=190_000)
    queue.playback_ended(at(alice, laptop, 8))
    [play] = local_plays(alice)
    # Seeking to the end does not make the skipped part heard: 8 s were.
    assert (play.ms_played, play.counted) == (8_000, False)


def test_seeks_are_bounded_by_the_track(alice: User, track: Track):
    laptop = device(alice)
    play_track(at(alice, laptop, 0), track_id=track.pk, position_ms=-5)
    assert PlaybackSession.objects.get(user=alice).position_ms == 0
    session = sessions.playback_seek(at(alice, laptop, 1), position_ms=10**9)
    assert session.position_ms == 200_000


def test_only_the_speaker_may_say_a_track_ended(alice: User, track: Track):
    laptop, phone = device(alice), device(alice, "phone-0001")
    play_track(at(alice, laptop, 0), track_id=track.pk)
    with pytest.raises(PlaybackError):
        queue.playback_ended(at(alice, phone, 100))
    assert local_plays(alice) == []


def test_local_plays_reach_the_dashboard(
    alice: User, track: Track, django_capture_on_commit_callbacks: Any
):
    laptop = device(alice)
    play_track(at(alice, laptop, 0), track_id=track.pk)
    with django_capture_on_commit_callbacks(execute=True):  # the refresh queued on commit
        queue.playback_ended(at(alice, laptop, 200))
    total = EntityTotal.objects.get(user=alice, entity_id=track.pk, kind=1)
    assert total.plays == 1


def test_switching_speaker_keeps_the_position_and_rotates_tokens(alice: User, track: Track):
    laptop, phone = device(alice), device(alice, "phone-0001")
    session = play_track(at(alice, laptop, 0), track_id=track.pk)
    assert session.active_device == laptop
    generation = session.speaker_generation
    session = sessions.speaker_choose(at(alice, phone, 30))
    assert session.active_device == phone
    assert session.speaker_generation == generation + 1
    assert session.state == PlaybackSession.State.PLAYING
    assert sessions.position_at(session, T0 + timedelta(seconds=30)) == 30_000
    # Back to the laptop: a new generation again, so its old tokens stay dead.
    assert sessions.speaker_choose(at(alice, laptop, 40)).speaker_generation == generation + 2


def test_tracks_outside_the_library_cannot_be_played(alice: User):
    laptop = device(alice)
    spotify_only = TrackFactory.create()
    with pytest.raises(PlaybackError, match="in the library"):
        play_track(at(alice, laptop, 0), track_id=spotify_only.pk)


def test_device_ids_are_checked(alice: User):
    with pytest.raises(PlaybackError):
        sessions.device_register(user_id=alice.pk, client_id="../../x", name="x")
    assert device(alice).name == "Laptop"
    again = sessions.device_register(user_id=alice.pk, client_id="laptop-0001", name="  New  ")
    assert again.name == "New"
    assert Device.objects.filter(user=alice).count() == 1


# --- the JSON API -------------------------------------------------------------------------------


def post(client: Client, url: str, body: object) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


@pytest.fixture
def alice_client(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def test_the_api_plays_and_mints_tokens_for_the_speaker(
    alice_client: Client, alice: User, track: Track, django_assert_max_num_queries: Any
):
    assert (
        post(alice_client, "/api/devices", {"id": "laptop-0001", "name": "Laptop"}).status_code
        == 200
    )
    assert (
        post(alice_client, "/api/devices", {"id": "phone-0001", "name": "Phone"}).status_code == 200
    )
    response = post(
        alice_client, "/api/sessions/me/play", {"device": "laptop-0001", "track": track.pk}
    )
    assert response.status_code == 200, response.content
    state = response.json()
    assert state["state"] == "playing"
    assert state["track"]["id"] == track.pk
    assert state["active_device"] == "laptop-0001"
    assert [d["name"] for d in state["devices"]] == ["Laptop", "Phone"]
    with django_assert_max_num_queries(12):
        response = alice_client.get("/api/sessions/me")
    assert response.json()["rev"] == state["rev"]
    assert response["Cache-Control"] == "no-store"

    minted = post(alice_client, "/api/media/tokens", {"device": "laptop-0001", "track": track.pk})
    assert minted.status_code == 200
    url = minted.json()["url"]
    assert url.startswith(f"/media/tracks/{track.pk}?token=")
    token = url.split("token=", 1)[1]
    assert media_allows(token, user=alice, track_id=track.pk)

    # The phone is not the speaker: no token for it.
    refused = post(alice_client, "/api/media/tokens", {"device": "phone-0001", "track": track.pk})
    assert refused.status_code == 403
    # The phone takes over: the laptop's token is dead, the phone can mint.
    assert (
        post(alice_client, "/api/sessions/me/speaker", {"device": "phone-0001"}).status_code == 200
    )
    assert not media_allows(token, user=alice, track_id=track.pk)
    assert (
        post(
            alice_client, "/api/media/tokens", {"device": "phone-0001", "track": track.pk}
        ).status_code
        == 200
    )


def test_tokens_are_bound_to_user_and_track_and_expire(
    alice: User, bob: User, track: Track, settings: Settings
):
    laptop = device(alice)
    session = play_track(at(alice, laptop, 0), track_id=track.pk)
    from playback.tokens import media_token

    token = media_token(session, track.pk)
    assert media_allows(token, user=alice, track_id=track.pk)
    assert not media_allows(token, user=bob, track_id=track.pk)
    assert not media_allows(token, user=alice, track_id=track.pk + 1)
    assert not media_allows(token, user=None, track_id=track.pk)
    assert not media_allows(token + "x", user=alice, track_id=track.pk)
    assert not media_allows("garbage", user=alice, track_id=track.pk)
    assert media_grant(token) is not None
    later = time.time() + settings.MEDIA_TOKEN_SECONDS + 1
    with mock.patch("playback.tokens.time.time", return_value=later):
        assert not media_allows(token, user=alice, track_id=track.pk)


def test_minting_is_rate_limited(alice_client: Client, track: Track, settings: Settings):
    settings.MEDIA_TOKEN_RATE = "3/m"
    post(alice_client, "/api/devices", {"id": "laptop-0001", "name": "Laptop"})
    post(alice_client, "/api/sessions/me/speaker", {"device": "laptop-0001"})
    body = {"device": "laptop-0001", "track": track.pk}
    statuses = [post(alice_client, "/api/media/tokens", body).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]


def test_the_api_refuses_other_users_devices_and_bad_input(
    alice_client: Client, alice: User, bob: User, track: Track
):
    device(bob, "bobs-phone-01")
    bobs_revision = PlaybackSession.objects.get(user=bob).revision
    for url, body in [
        ("/api/sessions/me/play", {"device": "bobs-phone-01", "track": track.pk}),
        ("/api/sessions/me/speaker", {"device": "bobs-phone-01"}),
        ("/api/media/tokens", {"device": "bobs-phone-01", "track": track.pk}),
    ]:
        response = post(alice_client, url, body)
        assert response.status_code == 400
        assert "Unknown device" in response.json()["error"]
    post(alice_client, "/api/devices", {"id": "laptop-0001", "name": "Laptop"})
    bad = [
        ("/api/sessions/me/play", {"device": "laptop-0001", "track": "1"}),
        ("/api/sessions/me/seek", {"device": "laptop-0001", "position_ms": True}),
        ("/api/devices", {"id": "x", "name": "short id"}),
    ]
    for url, body in bad:
        assert post(alice_client, url, body).status_code == 400
    raw = alice_client.post("/api/sessions/me/pause", "not json", content_type="application/json")
    assert raw.status_code == 400
    assert (
        post(alice_client, "/api/sessions/me/explode", {"device": "laptop-0001"}).status_code == 404
    )
    # Bob's session was never touched.
    assert PlaybackSession.objects.get(user=bob).revision == bobs_revision


def test_the_api_needs_a_signed_in_user_and_csrf(track: Track, alice: User):
    anonymous = Client()
    for url in ["/api/sessions/me", "/api/devices", "/api/media/tokens", "/api/sessions/me/play"]:
        response = anonymous.get(url) if url == "/api/sessions/me" else anonymous.post(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    assert post(strict, "/api/devices", {"id": "laptop-0001", "name": "x"}).status_code == 403


# --- coming back to a session --------------------------------------------------------------------


def test_a_session_whose_speaker_went_away_pauses_where_it_was_last_heard(
    alice: User, track: Track
):
    laptop = device(alice)
    play_track(at(alice, laptop, 0), track_id=track.pk)
    Device.objects.filter(pk=laptop.pk).update(last_seen=T0 + timedelta(seconds=40))
    session = PlaybackSession.objects.get(user=alice)
    now = T0 + timedelta(minutes=30)
    assert sessions.session_settle(session, now)
    assert session.state == "paused"
    assert session.position_ms == 40_000  # as far as the laptop was heard from
    assert session.listened_ms == 40_000  # the listen goes on when playback resumes
    assert not sessions.session_settle(session, now)  # settled once


def test_a_day_old_session_starts_its_track_again_keeping_it(alice: User, track: Track):
    laptop = device(alice)
    play_track(at(alice, laptop, 0), track_id=track.pk)
    sessions.playback_pause(at(alice, laptop, 50))
    revision = PlaybackSession.objects.get(user=alice).revision
    # A day later the user signs in on the laptop again: its first heartbeat settles it.
    later = T0 + timedelta(hours=25)
    from django.utils import timezone

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timezone, "now", lambda: later)
        sessions.device_register(user_id=alice.pk, client_id="laptop-0001", name="Laptop")
    session = PlaybackSession.objects.get(user=alice)
    assert (session.track_id, session.state, session.position_ms) == (track.pk, "paused", 0)
    assert session.revision == revision + 1
    [play] = local_plays(alice)
    assert play.ms_played == 50_000
    assert play.ended_at == T0 + timedelta(seconds=50)


def test_a_heartbeat_of_a_present_speaker_changes_nothing(alice: User, track: Track):
    laptop = device(alice)
    play_track(at(alice, laptop, 0), track_id=track.pk)
    revision = PlaybackSession.objects.get(user=alice).revision
    device(alice)  # the same device, name and platform: only last_seen moves
    assert PlaybackSession.objects.get(user=alice).revision == revision
