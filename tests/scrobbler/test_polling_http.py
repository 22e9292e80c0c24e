"""Polling over real HTTP against the simulator: what gets recorded, and what failures cost."""

from __future__ import annotations

import datetime as dt
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from scrobbler import polling, rollups
from scrobbler.models import (
    FailureKind,
    ListeningHour,
    Play,
    PollMode,
    RollupDirty,
    SpotifyAccount,
    User,
)
from scrobbler.polling import HISTORY_PAGE_SIZE
from tests.concurrency import at_once
from tests.factories import UserFactory
from tests.scrobbler.spotify_helpers import sim_linked_account
from tests.spotify_sim.conftest import Sim

pytestmark = pytest.mark.django_db

RP = "v1/me/player/recently-played"
CP = "v1/me/player/currently-playing"


def claim_and_poll(
    account: SpotifyAccount, *, at: dt.datetime | None = None
) -> polling.PollOutcome:
    """Claim the account as the scheduler would at `at` (default: far enough ahead that it is
    due) and poll it."""
    moment = at or timezone.now() + dt.timedelta(days=1)
    claimed = polling.poll_claim_due(now=moment, limit=1, user_ids=[account.user_id])
    assert claimed == [account.pk], "the account is not due"
    return polling.poll_account(account_id=account.pk, force=at is None)


def instant(text: str) -> dt.datetime:
    parsed = parse_datetime(text)
    assert parsed is not None
    return parsed


def requests_to(sim: Sim, account: str, endpoint: str) -> list[dict]:
    log = sim.control("GET", f"accounts/{account}/requests")["requests"]
    return [r for r in log if r["endpoint"] == endpoint]


def test_a_history_poll_records_exactly_what_spotify_lists(alice: User, spotify: Sim) -> None:
    account = sim_linked_account(alice, spotify, "alice-sp", poll_mode=PollMode.HISTORY)
    outcome = claim_and_poll(account)
    assert outcome.ok
    listed = [p for p in spotify.plays("alice-sp") if p["listed"]][-50:]
    stored = {
        (uri, ended.isoformat())
        for uri, ended in Play.objects.filter(user=alice).values_list("track__uri", "ended_at")
    }
    expected = set()
    for play in listed:
        uri = play["track_uri"]
        if uri.startswith("spotify:local:"):
            continue  # stored under a local:<sha1> id, checked below
        expected.add((uri, instant(play["played_at"]).isoformat()))
    assert expected <= stored
    assert outcome.plays_recorded == len(listed) == Play.objects.filter(user=alice).count()
    # Polling again records nothing new: the same listens are never stored twice.
    assert claim_and_poll(account).plays_recorded == 0


def test_new_listens_arrive_with_the_next_history_poll(alice: User, spotify: Sim) -> None:
    account = sim_linked_account(alice, spotify, "alice-sp", poll_mode=PollMode.HISTORY)
    claim_and_poll(account)
    before = Play.objects.filter(user=alice).count()
    spotify.advance(5 * 3_600)  # more than the look-back and several pages of new listens
    account.refresh_from_db()
    claim_and_poll(account)
    listed = [p for p in spotify.plays("alice-sp") if p["listed"]]
    assert Play.objects.filter(user=alice).count() > before + HISTORY_PAGE_SIZE // 2
    # Everything listed since the first poll's oldest item is there: nothing lost between pages.
    first_stored = Play.objects.filter(user=alice).order_by("ended_at").first()
    assert first_stored is not None
    expected = [p for p in listed if instant(p["played_at"]) >= first_stored.ended_at]
    assert Play.objects.filter(user=alice).count() == len(expected)


def test_realtime_polls_record_a_live_play_when_the_track_changes(
    alice: User, spotify: Sim
) -> None:
    account = sim_linked_account(alice, spotify, "alice-sp", poll_mode=PollMode.REALTIME)
    spotify.account("alice-sp", profile="steady")
    segment = spotify.at_segment(
        "alice-sp", lambda s: s["kind"] == "track" and s["is_playing"] and s["progress_ms"] == 0
    )
    assert claim_and_poll(account).ok
    account.refresh_from_db()
    assert account.tracking_state["current"]["uri"] == segment["uri"]
    assert requests_to(spotify, "alice-sp", RP) == []  # realtime mode leaves history alone
    assert account.next_poll_at <= timezone.now() + dt.timedelta(seconds=6)
    # Follow the track every 5 s, as the poller would, until the next track plays.
    at = (segment["start_ms"] + segment["end_ms"]) // 2
    while at < segment["end_ms"] + 10_000:
        at += 5_000
        spotify.set_clock(at)
        account.refresh_from_db()
        claim_and_poll(account)
    play = Play.objects.get(user=alice)
    assert play.track.uri == segment["uri"]
    assert play.source == Play.Source.LIVE
    assert play.counted


def test_a_429_holds_the_account_until_retry_after_for_every_worker(
    alice: User, spotify: Sim
) -> None:
    account = sim_linked_account(alice, spotify, "alice-sp", poll_mode=PollMode.HISTORY)
    spotify.fault(kind="rate_limit", endpoint=RP, account="alice-sp", retry_after=30, count=1)
    started = timezone.now()
    outcome = polling.poll_account(account_id=polling.poll_claim_due(now=started, limit=1)[0])
    assert outcome.failure == FailureKind.RATE_LIMIT
    account.refresh_from_db()
    assert account.next_poll_at >= started + dt.timedelta(seconds=30)
    assert account.claimed_until is None
    # No worker may take it before then...
    assert polling.poll_claim_due(now=started + dt.timedelta(seconds=29), limit=10) == []
    assert len(requests_to(spotify, "alice-sp", RP)) == 1
    # ...and after it, any may.
    later = account.next_poll_at + dt.timedelta(seconds=1)
    assert polling.poll_claim_due(now=later, limit=10) == [account.pk]


@pytest.mark.parametrize(
    ("fault", "expected_seconds"),
    [
        ({"retry_after": None}, 30.0),  # missing: a safe default
        ({"retry_after": 0}, 1.0),  # zero: at least a second
        ({"retry_after": 5, "retry_after_header": "retry-after"}, 5.0),
        ({"retry_after": 7_200}, 7_200.0),
    ],
    ids=["missing", "zero", "lowercase", "hours"],
)
def test_retry_after_variants_schedule_the_next_poll(
    alice: User, spotify: Sim, fault: dict, expected_seconds: float
) -> None:
    account = sim_linked_account(alice, spotify, "alice-sp", poll_mode=PollMode.HISTORY)
    spotify.fault(kind="rate_limit", endpoint=RP, account="alice-sp", count=1, **fault)
    before = timezone.now()
    claim_and_poll(account, at=before)
    account.refresh_from_db()
    waited = (account.next_poll_at - before).total_seconds()
    assert expected_seconds <= waited <= expected_seconds + 5


def test_a_5xx_storm_backs_off_more_each_time_then_recovers(alice: User, spotify: Sim) -> None:
    account = sim_linked_account(alice, spotify, "alice-sp", poll_mode=PollMode.HISTORY)
    rule = spotify.fault(kind="error", status=503, endpoint=RP, account="alice-sp")
    ceilings = []
    for attempt in range(1, 6):
        now = timezone.now()
        outcome = claim_and_poll(account)
        assert outcome.failure == FailureKind.NETWORK
        account.refresh_from_db()
        assert account.failure_count == attempt
        ceilings.append((account.next_poll_at - now).total_seconds())
    first, _ = polling.BACKOFF[FailureKind.NETWORK]
    assert ceilings[0] <= first + 1
    assert ceilings[-1] >= first * 2**4 / 2 - 1  # doubled each time (with jitter over the top half)
    spotify.control("DELETE", f"faults/{rule['id']}")
    assert claim_and_poll(account).ok
    account.refresh_from_db()
    assert (account.failure_kind, account.failure_count, account.last_error) == ("", 0, "")


@pytest.mark.django_db(transaction=True)
def test_slow_and_broken_accounts_never_hold_up_the_others(spotify: Sim) -> None:
    users = [UserFactory.create(username=name) for name in ("slow", "broken", "fine1", "fine2")]
    accounts = {
        user.username: sim_linked_account(
            user, spotify, f"{user.username}-sp", poll_mode=PollMode.HISTORY
        )
        for user in users
    }
    spotify.fault(kind="slow", delay_ms=3_000, endpoint=RP, account="slow-sp")
    # A token no key can decrypt: the poll raises something unexpected.
    SpotifyAccount.objects.filter(pk=accounts["broken"].pk).update(access_token_encrypted="garbage")
    started = time.monotonic()
    outcomes = polling.poll_due(now=timezone.now() + dt.timedelta(seconds=1), concurrency=4)
    finished = {o.account_id: o.finished_at - started for o in outcomes}
    by_name = {
        name: next(o for o in outcomes if o.account_id == a.pk) for name, a in accounts.items()
    }
    assert by_name["fine1"].ok
    assert by_name["fine2"].ok
    assert by_name["slow"].ok
    assert by_name["broken"].failure == FailureKind.UNKNOWN
    assert finished[accounts["fine1"].pk] < 2.0
    assert finished[accounts["fine2"].pk] < 2.0
    assert finished[accounts["slow"].pk] >= 3.0


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_poll_the_same_account_at_once(spotify: Sim) -> None:
    for n in range(8):
        sim_linked_account(
            UserFactory.create(username=f"u{n}"), spotify, f"u{n}-sp", poll_mode=PollMode.HISTORY
        )

    def worker() -> list[polling.PollOutcome]:
        return polling.poll_due(now=timezone.now() + dt.timedelta(seconds=1), concurrency=3)

    results = at_once(worker, worker)
    polled = [o.account_id for outcomes in results for o in outcomes]  # type: ignore[union-attr]
    assert sorted(polled) == sorted(set(polled))
    assert len(polled) == 8
    for n in range(8):
        assert len(requests_to(spotify, f"u{n}-sp", RP)) == 1


def test_a_revoked_account_stops_being_polled(alice: User, spotify: Sim) -> None:
    account = sim_linked_account(alice, spotify, "alice-sp", poll_mode=PollMode.HISTORY)
    spotify.control("POST", "accounts/alice-sp/revoke")
    SpotifyAccount.objects.filter(pk=account.pk).update(access_token_expires_at=timezone.now())
    outcome = claim_and_poll(account)
    assert outcome.failure == FailureKind.AUTH
    account.refresh_from_db()
    assert account.status == SpotifyAccount.Status.NEEDS_RELINK
    assert polling.poll_claim_due(now=timezone.now() + dt.timedelta(days=1), limit=10) == []


def test_poll_spotify_command_polls_one_user_now(alice: User, spotify: Sim) -> None:
    account = sim_linked_account(alice, spotify, "alice-sp", poll_mode=PollMode.HISTORY)
    SpotifyAccount.objects.filter(pk=account.pk).update(
        next_poll_at=timezone.now() + dt.timedelta(hours=1),
        history_due_at=timezone.now() + dt.timedelta(hours=1),
    )
    out = StringIO()
    call_command("poll_spotify", "--user", "alice", stdout=out)
    assert f"account {account.pk}: ok" in out.getvalue()
    assert Play.objects.filter(user=alice).exists()


def test_a_poll_brings_the_dashboard_up_to_date(alice: User, spotify: Sim) -> None:
    account = sim_linked_account(alice, spotify, "alice-sp", poll_mode=PollMode.HISTORY)
    assert claim_and_poll(account).plays_recorded
    assert not RollupDirty.objects.filter(user=alice).exists()
    counted = Play.objects.filter(user=alice, counted=True).count()
    assert sum(ListeningHour.objects.filter(user=alice).values_list("plays", flat=True)) == counted


def test_a_failed_dashboard_refresh_leaves_the_poll_done_and_the_work_marked(
    alice: User, spotify: Sim, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(user_id: int) -> bool:
        raise DatabaseError("the database went away")

    monkeypatch.setattr(polling, "rollups_refresh", broken)
    account = sim_linked_account(alice, spotify, "alice-sp", poll_mode=PollMode.HISTORY)
    outcome = claim_and_poll(account)
    assert outcome.ok
    assert outcome.plays_recorded == Play.objects.filter(user=alice).count()
    assert RollupDirty.objects.filter(user=alice).exists()  # housekeeping's to finish
    assert rollups.rollups_refresh_stale() == 1
    assert not RollupDirty.objects.filter(user=alice).exists()
