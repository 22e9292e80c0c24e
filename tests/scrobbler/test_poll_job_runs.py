"""Polling's JobRuns: one row per UTC minute that the ticks of that minute add up into."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_django import Settings

from ops.models import JobRun
from scrobbler import jobruns, polling, tasks
from scrobbler.models import FailureKind, PollMode, SpotifyAccount
from tests.concurrency import at_once
from tests.factories import UserFactory
from tests.scrobbler.spotify_helpers import sim_linked_account
from tests.spotify_sim.conftest import Sim

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def tick(
    at: dt.datetime,
    *,
    polled: int = 0,
    plays: int = 0,
    failures: dict[str, int] | None = None,
    seconds: float = 0.9,
) -> jobruns.PollTick:
    return jobruns.PollTick(
        started_at=at,
        finished_at=at + dt.timedelta(seconds=seconds),
        polled=polled,
        plays=plays,
        failures=Counter(failures or {}),
    )


def minutes() -> list[JobRun]:
    return list(JobRun.objects.filter(kind=JobRun.Kind.POLLS).order_by("minute"))


def test_ticks_within_one_minute_make_one_row_and_the_next_minute_a_new_one() -> None:
    jobruns.poll_tick_record(tick(NOON + dt.timedelta(seconds=1), polled=3, plays=1))
    jobruns.poll_tick_record(
        tick(NOON + dt.timedelta(seconds=30), polled=4, plays=2, failures={"network": 1})
    )
    jobruns.poll_tick_record(
        tick(NOON + dt.timedelta(seconds=59.5), polled=5, failures={"rate_limit": 2})
    )
    jobruns.poll_tick_record(tick(NOON + dt.timedelta(seconds=61), polled=7))

    first, second = minutes()
    assert first.minute == NOON
    assert first.status == JobRun.Status.SUCCEEDED  # outages and 429s are not unexpected
    assert first.started_at == NOON + dt.timedelta(seconds=1)
    assert first.finished_at == NOON + dt.timedelta(seconds=60.4)
    assert first.details == {
        "ticks": 3,
        "ticks_crashed": 0,
        "polled": 12,
        "plays": 3,
        "failures": {"auth": 0, "network": 1, "rate_limit": 2, "unknown": 0},
    }
    assert second.minute == NOON + dt.timedelta(minutes=1)
    assert (second.details["ticks"], second.details["polled"]) == (1, 7)


def test_an_unexpected_failure_or_a_crashed_tick_fails_its_minute_only() -> None:
    jobruns.poll_tick_record(tick(NOON, polled=2))
    jobruns.poll_tick_record(
        tick(NOON + dt.timedelta(seconds=2), polled=2, failures={"unknown": 1})
    )
    jobruns.poll_tick_record(tick(NOON + dt.timedelta(seconds=4), polled=2))
    crashed = tick(NOON + dt.timedelta(minutes=1))
    crashed.crashed = True
    jobruns.poll_tick_record(crashed)
    jobruns.poll_tick_record(tick(NOON + dt.timedelta(minutes=2), failures={"auth": 1}))

    statuses = [(run.status, run.details["failures"]["unknown"]) for run in minutes()]
    assert statuses == [
        (JobRun.Status.FAILED, 1),  # stays failed after a later good tick
        (JobRun.Status.FAILED, 0),
        (JobRun.Status.SUCCEEDED, 0),  # a revoked link is not Encore's failure
    ]
    assert minutes()[1].details["ticks_crashed"] == 1


@pytest.mark.django_db(transaction=True)
def test_ticks_on_several_workers_at_once_lose_no_count() -> None:
    def worker(first: int) -> None:
        for n in range(10):
            at = NOON + dt.timedelta(seconds=first + n)
            jobruns.poll_tick_record(tick(at, polled=1, plays=2, failures={"network": 1}))

    results = at_once(lambda: worker(0), lambda: worker(20), lambda: worker(40))
    assert results == [None, None, None]

    [row] = minutes()
    assert (row.details["ticks"], row.details["polled"], row.details["plays"]) == (30, 30, 60)
    assert row.details["failures"]["network"] == 30
    assert row.started_at == NOON  # whichever tick inserted the row
    assert row.finished_at == NOON + dt.timedelta(seconds=49.9)


def _away_from_a_minute_boundary() -> None:
    """Wait until the ticks that follow cannot straddle two UTC minutes."""
    while timezone.now().second >= 50:
        time.sleep(0.5)


def _accounts(sim: Sim, prefix: str, count: int) -> list[SpotifyAccount]:
    return [
        sim_linked_account(
            UserFactory.create(username=f"{prefix}{n}"),
            sim,
            f"{prefix}{n}-sp",
            poll_mode=PollMode.HISTORY,
        )
        for n in range(count)
    ]


@pytest.mark.django_db(transaction=True)
def test_a_real_tick_adds_its_polls_to_the_minute(spotify: Sim) -> None:
    _away_from_a_minute_boundary()
    _, broken = _accounts(spotify, "tick", 2)
    # A token no key can decrypt: the poll raises something unexpected.
    SpotifyAccount.objects.filter(pk=broken.pk).update(access_token_encrypted="garbage")

    assert polling.poll_tick(seconds=0.5, concurrency=2) == 2
    assert polling.poll_tick(seconds=0.3, concurrency=2) == 0  # nothing is due any more

    [row] = minutes()
    assert row.status == JobRun.Status.FAILED
    assert row.details["ticks"] == 2
    assert row.details["polled"] == 2
    assert row.details["failures"][FailureKind.UNKNOWN] == 1
    assert row.started_at is not None
    assert row.finished_at is not None
    assert row.finished_at - row.started_at >= dt.timedelta(seconds=0.8)


@pytest.mark.django_db(transaction=True)
def test_a_tick_writes_its_minute_with_one_update_however_many_accounts_it_polls(
    spotify: Sim,
) -> None:
    _away_from_a_minute_boundary()
    polling.poll_tick(seconds=0.2, concurrency=2)  # the minute's row exists from here on
    writes = []
    for count in (1, 6):
        _accounts(spotify, f"n{count}-", count)
        with CaptureQueriesContext(connection) as queries:  # the tick's own thread
            assert polling.poll_tick(seconds=0.5, concurrency=3) == count
        writes.append([q["sql"] for q in queries if "scrobbler_jobrun" in q["sql"]])

    assert [len(sqls) for sqls in writes] == [1, 1]
    assert all(sqls[0].startswith("UPDATE") for sqls in writes)
    assert minutes()[0].details["polled"] == 7


def test_housekeeping_deletes_only_polling_rows_older_than_the_setting(
    settings: Settings,
) -> None:
    settings.JOB_RUN_POLLS_DAYS = 14
    now = timezone.now()
    for days in (20, 15, 13, 0):
        jobruns.poll_tick_record(tick(now - dt.timedelta(days=days), polled=1))
    old_scan = JobRun.objects.create(kind=JobRun.Kind.LIBRARY_SCAN, status=JobRun.Status.SUCCEEDED)
    JobRun.objects.filter(pk=old_scan.pk).update(created_at=now - dt.timedelta(days=400))

    tasks.rollups_housekeeping()

    kept = [now - run.started_at for run in minutes() if run.started_at is not None]
    assert [delta.days for delta in kept] == [13, 0]
    assert JobRun.objects.filter(pk=old_scan.pk).exists()
