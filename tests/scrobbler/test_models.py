from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from scrobbler.models import Play, User
from tests.factories import PlayFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_users_get_distinct_public_uuids() -> None:
    first, second = UserFactory.create(), UserFactory.create()
    assert isinstance(first.public_id, uuid.UUID)
    assert first.public_id != second.public_id


def test_the_same_listen_cannot_be_recorded_twice(alice: User) -> None:
    play = PlayFactory.create(user=alice)
    with pytest.raises(IntegrityError), transaction.atomic():
        PlayFactory.create(
            user=alice, track=play.track, ended_at=play.ended_at, source=Play.Source.IMPORT
        )
    assert Play.objects.count() == 1


def test_two_users_may_hear_the_same_track_at_the_same_time(alice: User, bob: User) -> None:
    play = PlayFactory.create(user=alice)
    PlayFactory.create(user=bob, track=play.track, ended_at=play.ended_at)
    assert Play.objects.count() == 2


def test_a_play_cannot_end_before_it_starts(alice: User) -> None:
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        Play.objects.create(
            user=alice,
            track=TrackFactory.create(),
            started_at=now,
            ended_at=now - dt.timedelta(seconds=1),
            ms_played=0,
            source=Play.Source.LIVE,
            counted=False,
        )


def test_queryset_selects_one_users_plays_in_a_range(alice: User, bob: User) -> None:
    start = timezone.now() - dt.timedelta(hours=1)
    inside = PlayFactory.create(user=alice, ended_at=start + dt.timedelta(minutes=10))
    PlayFactory.create(user=alice, ended_at=start - dt.timedelta(minutes=10))
    PlayFactory.create(user=bob, ended_at=start + dt.timedelta(minutes=10))
    found = Play.objects.for_user(alice).between(start, start + dt.timedelta(hours=1))
    assert list(found) == [inside]


def test_deleting_a_user_deletes_their_plays_only(alice: User, bob: User) -> None:
    PlayFactory.create(user=alice)
    kept = PlayFactory.create(user=bob)
    alice.delete()
    assert list(Play.objects.all()) == [kept]
