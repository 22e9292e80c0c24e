"""`media_file`: the one query behind every media request, which reads the signed-in session itself
instead of going through Django's middleware, so it must refuse whatever Django's `get_user`
would refuse. Each case is asked of both ways of running it: through Django's connection (on a
thread) and through the event loop's own connection (`media_file_here`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.utils import timezone
from pytest_django import Settings

from playback import sessions, tokens
from playback.models import LibraryFile
from playback.tokens import (
    Found,
    MediaGrant,
    media_file,
    media_file_here,
    media_grant,
    media_token,
)
from scrobbler.models import Track, User
from tests.factories import TrackFactory
from tests.playback.test_sessions import at, device, in_library, play_track

# Committed rows: the event loop's connection is another connection, which sees only those.
pytestmark = pytest.mark.django_db(transaction=True)

Lookup = Callable[[MediaGrant, str], Found]


@pytest.fixture(params=["thread", "event loop"])
def media_file_of(request: pytest.FixtureRequest) -> Iterator[Lookup]:
    if request.param == "thread":
        yield media_file
        return
    loop = asyncio.new_event_loop()

    def on_the_event_loop(grant: MediaGrant, session_key: str) -> Found:
        found = loop.run_until_complete(media_file_here(grant, session_key))
        assert found is not None, "the event loop's connection could not ask"
        return found

    yield on_the_event_loop
    if connecting := tokens._postgresql.pop(loop, None):  # its connection, closed with the loop
        loop.run_until_complete(connecting.result()[0].close())
    loop.close()


def signed_in(user: User) -> str:
    """The key of a fresh signed-in session of `user` (as the sign-in page makes one)."""
    client = Client()
    client.force_login(user)
    return client.session.session_key or ""


@pytest.fixture
def track() -> Track:
    return in_library(TrackFactory.create(duration_ms=200_000))


@pytest.fixture
def grant(alice: User, track: Track) -> MediaGrant:
    session = play_track(at(alice, device(alice), 0), track_id=track.pk)
    found = media_grant(media_token(session, track.pk))
    assert found is not None
    return found


def test_the_speakers_signed_in_session_gets_the_file(
    alice: User, grant: MediaGrant, media_file_of: Lookup
):
    file = LibraryFile.objects.get(track_id=grant.track_id)
    assert media_file_of(grant, signed_in(alice)) == (file.pk, bytes(file.path))


def test_a_track_without_a_readable_file_is_missing_only_for_the_rightful_user(
    alice: User, bob: User, grant: MediaGrant, media_file_of: Lookup
):
    LibraryFile.objects.filter(track_id=grant.track_id).update(error="truncated")
    assert media_file_of(grant, signed_in(alice)) == "missing"
    assert media_file_of(grant, signed_in(bob)) == "refused"


def test_another_users_session_is_refused(bob: User, grant: MediaGrant, media_file_of: Lookup):
    assert media_file_of(grant, signed_in(bob)) == "refused"


def test_unknown_expired_and_signed_out_sessions_are_refused(
    alice: User, grant: MediaGrant, media_file_of: Lookup
):
    assert media_file_of(grant, "no-such-session-key") == "refused"
    expired = signed_in(alice)
    Session.objects.filter(pk=expired).update(expire_date=timezone.now() - timedelta(seconds=1))
    assert media_file_of(grant, expired) == "refused"
    client = Client()
    client.force_login(alice)
    key = client.session.session_key or ""
    client.post("/accounts/logout/")
    assert media_file_of(grant, key) == "refused"


def test_a_changed_password_or_a_disabled_account_ends_the_session(
    alice: User, grant: MediaGrant, media_file_of: Lookup
):
    key = signed_in(alice)
    alice.set_password("a whole new password 9")
    alice.save()
    assert media_file_of(grant, key) == "refused"
    key = signed_in(alice)
    assert media_file_of(grant, key) != "refused"
    User.objects.filter(pk=alice.pk).update(is_active=False)
    assert media_file_of(grant, key) == "refused"


def test_sessions_signed_under_a_retired_secret_key_still_work(
    alice: User, grant: MediaGrant, settings: Settings, media_file_of: Lookup
):
    key = signed_in(alice)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-that-is-long-enough-0123456789"
    assert media_file_of(grant, key) != "refused"
    settings.SECRET_KEY_FALLBACKS = []
    assert media_file_of(grant, key) == "refused"


def test_a_new_speaker_retires_the_old_speakers_grant(
    alice: User, grant: MediaGrant, media_file_of: Lookup
):
    key = signed_in(alice)
    phone = device(alice, "phone-0001")
    sessions.speaker_choose(at(alice, phone, 5))
    assert media_file_of(grant, key) == "refused"


def test_a_broken_postgresql_connection_is_left_to_a_thread_then_made_anew(
    alice: User, grant: MediaGrant
):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's event loop connection (DATABASE_URL=postgres://…)")
    key = signed_in(alice)
    expected = media_file(grant, key)
    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(media_file_here(grant, key)) == expected
        broken, _ = loop.run_until_complete(tokens._postgresql[loop])
        with connection.cursor() as cursor:  # as a database restart would
            cursor.execute("SELECT pg_terminate_backend(%s)", [broken.info.backend_pid])
        assert loop.run_until_complete(media_file_here(grant, key)) is None
        assert loop.run_until_complete(media_file_here(grant, key)) == expected
        renewed, _ = loop.run_until_complete(tokens._postgresql.pop(loop))
        assert renewed is not broken
        loop.run_until_complete(renewed.close())
    finally:
        loop.close()
