"""Polling Spotify: which accounts are due, one poll of one account, and what failures cost.

A poll feeds what it saw to the account's tracking engine (scrobbler.tracking) and hands the
plays that come out to scrobbler.plays, which stores them.

A poll claims its account first (a lease in the database), so however many workers and beat
ticks there are, an account is polled by one of them at a time, and a 429's Retry-After holds for
every worker: the account is simply not due before then.
"""

from __future__ import annotations

import contextvars
import json
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from ops.counters import PollTally
from scrobbler import jobruns
from scrobbler.epoch import moment_of, now_ms
from scrobbler.models import FailureKind, PollMode, SpotifyAccount
from scrobbler.plays import history_record, play_thresholds, plays_record
from scrobbler.rollups import rollups_refresh
from scrobbler.spotify import accounts
from scrobbler.spotify.errors import (
    SpotifyAuthError,
    SpotifyRateLimited,
    SpotifyUnavailable,
)
from scrobbler.tracking import Observation, Tracker

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(seconds=60)
NOT_POLLABLE = "not pollable"  # paused or unlinked since it was claimed: no poll was made
# recently-played lists plays late (several tracks behind), so each history poll looks back this
# far before the newest play already seen; the unique constraint drops what was already stored.
HISTORY_LOOKBACK = timedelta(hours=2)
HISTORY_PAGE_SIZE = 50
HISTORY_MAX_PAGES = 10
# Capped exponential backoff by failure kind: (first delay, cap), in seconds.
BACKOFF = {
    FailureKind.NETWORK: (5.0, 15 * 60.0),
    FailureKind.UNKNOWN: (30.0, 60 * 60.0),
}


@dataclass(frozen=True)
class PollOutcome:
    account_id: int
    ok: bool
    plays_recorded: int = 0
    failure: str = ""
    due_at: datetime | None = None  # when the poll fell due, to measure lateness
    finished_at: float = field(default_factory=time.monotonic)


def due_filter(now: datetime) -> Q:
    return Q(status=SpotifyAccount.Status.ACTIVE, polling_paused=False, next_poll_at__lte=now) & (
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )


def poll_claim_due(
    *, now: datetime, limit: int, user_ids: Iterable[int] | None = None
) -> list[int]:
    """Claim up to `limit` due accounts for this worker; returns their ids, most overdue first."""
    return [account.pk for account in _claim(now=now, limit=limit, user_ids=user_ids)]


def _claim(
    *, now: datetime, limit: int, user_ids: Iterable[int] | None = None
) -> list[SpotifyAccount]:
    """The claimed accounts as read under the claim's lock, so polling them needs no new read."""
    with transaction.atomic():
        candidates = SpotifyAccount.objects.select_for_update(skip_locked=True).filter(
            due_filter(now)
        )
        if user_ids is not None:
            candidates = candidates.filter(user_id__in=list(user_ids))
        claimed = list(candidates.order_by("next_poll_at")[:limit])
        lease = now + CLAIM_LEASE
        SpotifyAccount.objects.filter(pk__in=[a.pk for a in claimed]).update(claimed_until=lease)
    for account in claimed:
        account.claimed_until = lease
    return claimed


def poll_due(
    *, now: datetime | None = None, limit: int | None = None, concurrency: int | None = None
) -> list[PollOutcome]:
    """Claim what is due and poll it concurrently; a slow account holds one thread, not the rest."""
    claimed = _claim(now=now or timezone.now(), limit=limit or settings.POLL_BATCH_SIZE)
    return poll_accounts(claimed, concurrency=concurrency)


def poll_run(
    *,
    seconds: float | None,
    concurrency: int | None = None,
    idle_sleep: float = 0.05,
    on_outcome: Callable[[PollOutcome], None] | None = None,
) -> int:
    """Poll accounts as they fall due, for `seconds` (None: until the process stops).

    A tick that only polled what was due at its start would leave accounts that fall due just
    after it waiting for the next tick; this loop keeps every account within a fraction of a
    second of its schedule. The same threads (and their database connections) serve the whole
    run, and only as much is claimed as they can start on soon, so other workers get the rest.
    Returns how many polls were made.
    """
    threads = concurrency or settings.POLL_CONCURRENCY
    deadline = None if seconds is None else time.monotonic() + seconds

    def feed(work: queue.Queue[SpotifyAccount | int]) -> None:
        while deadline is None or time.monotonic() < deadline:
            room = 2 * threads - work.qsize()
            claimed = _claim(now=timezone.now(), limit=room) if room > 0 else []
            for account in claimed:
                work.put(account)
            if len(claimed) < room:
                time.sleep(idle_sleep)

    try:
        return _poll_with_threads(threads, feed, force=False, on_outcome=on_outcome)
    finally:
        connection.close()  # the claims' connection; the next run opens a fresh one


def poll_tick(*, seconds: float, concurrency: int | None = None) -> int:
    """One beat tick: `poll_run` for `seconds`, then the tick is added to its minute's JobRun
    (one write per tick, counted in memory meanwhile). Returns how many polls were made."""
    tick = jobruns.PollTick(started_at=timezone.now())

    def count(outcome: PollOutcome) -> None:
        if outcome.failure != NOT_POLLABLE:
            tick.add(failure=outcome.failure, plays=outcome.plays_recorded)

    try:
        return poll_run(seconds=seconds, concurrency=concurrency, on_outcome=count)
    except Exception:
        tick.crashed = True
        raise
    finally:
        tick.finished_at = timezone.now()
        jobruns.poll_tick_record(tick)


def poll_accounts(
    accounts: Sequence[SpotifyAccount | int],
    *,
    concurrency: int | None = None,
    force: bool = False,
) -> list[PollOutcome]:
    """Poll these accounts (rows as claimed, or ids to read) with up to `concurrency` threads."""
    if not accounts:
        return []
    threads = min(concurrency or settings.POLL_CONCURRENCY, len(accounts))
    outcomes: list[PollOutcome] = []
    if threads <= 1:  # in the caller's thread, and its transaction
        tally = PollTally()
        outcomes = [_poll_one(account, force=force, tally=tally) for account in accounts]
        tally.flush()
        return outcomes

    def feed(work: queue.Queue[SpotifyAccount | int]) -> None:
        for account in accounts:
            work.put(account)

    _poll_with_threads(threads, feed, force=force, on_outcome=outcomes.append)
    return outcomes


def _poll_with_threads(
    threads: int,
    feed: Callable[[queue.Queue[SpotifyAccount | int]], None],
    *,
    force: bool,
    on_outcome: Callable[[PollOutcome], None] | None,
    idle_sleep: float = 0.05,
) -> int:
    """`threads` pollers share one work queue that `feed` fills, so a slow account holds up one
    thread while the others carry on. Returns how many polls were made."""
    work: queue.Queue[SpotifyAccount | int] = queue.Queue()
    stop = threading.Event()
    polls = 0
    tally = PollTally()

    def worker() -> None:
        nonlocal polls
        try:
            while not (stop.is_set() and work.empty()):
                try:
                    account = work.get(timeout=idle_sleep)
                except queue.Empty:
                    continue
                outcome = _poll_one(account, force=force, tally=tally)
                polls += 1
                if on_outcome is not None:
                    on_outcome(outcome)
        finally:
            connection.close()  # each thread opened its own

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="poll") as pool:
        # Each thread in a copy of this context: its log lines carry the task's id.
        futures = [pool.submit(contextvars.copy_context().run, worker) for _ in range(threads)]
        try:
            feed(work)
        finally:
            stop.set()
            for future in futures:
                future.result()
            tally.flush()
    return polls


def _poll_one(account: SpotifyAccount | int, *, force: bool, tally: PollTally) -> PollOutcome:
    if isinstance(account, SpotifyAccount):
        outcome = poll_account(account_id=account.pk, claimed=account, force=force)
    else:
        outcome = poll_account(account_id=account, force=force)
    if outcome.failure != NOT_POLLABLE:
        tally.add(outcome.failure)
    return outcome


def poll_account(
    *, account_id: int, force: bool = False, claimed: SpotifyAccount | None = None
) -> PollOutcome:
    """One poll of one claimed account: fetch what is due (with `force`, everything its mode
    polls), record plays, schedule the next poll. `claimed` is the row as the claim read it.

    Never raises: every failure is recorded on the account and decides when it is next due.
    """
    account = claimed or SpotifyAccount.objects.filter(pk=account_id).first()
    if account is None or account.status != SpotifyAccount.Status.ACTIVE or account.polling_paused:
        SpotifyAccount.objects.filter(pk=account_id).update(claimed_until=None)
        return PollOutcome(account_id, ok=False, failure=NOT_POLLABLE)
    now = timezone.now()
    due_at = account.next_poll_at
    realtime = account.poll_mode != PollMode.HISTORY and (force or account.realtime_due_at <= now)
    history = account.poll_mode != PollMode.REALTIME and (force or account.history_due_at <= now)
    recorded = 0
    play_min_ms, play_min_ratio = play_thresholds(account.user_id)
    tracker = Tracker(
        account.tracking_state, play_min_ms=play_min_ms, play_min_ratio=play_min_ratio
    )
    try:
        if realtime:
            recorded += _poll_currently_playing(account, tracker)
            account.realtime_due_at = now + timedelta(seconds=settings.POLL_REALTIME_SECONDS)
        if history:
            recorded += _poll_recently_played(account, tracker)
            account.history_due_at = now + timedelta(seconds=settings.POLL_HISTORY_SECONDS)
    except SpotifyAuthError as exc:
        # accounts.spotify_access_token has marked token failures; a 403 is marked here.
        accounts.spotify_account_needs_relink(account_id=account.pk, reason=str(exc))
        return _failed(account, FailureKind.AUTH, str(exc), now=now, delay=None, tracker=tracker)
    except SpotifyRateLimited as exc:
        return _failed(
            account,
            FailureKind.RATE_LIMIT,
            str(exc),
            now=now,
            delay=exc.retry_after,
            tracker=tracker,
        )
    except SpotifyUnavailable as exc:
        return _failed(account, FailureKind.NETWORK, str(exc), now=now, delay=None, tracker=tracker)
    except Exception as exc:  # one broken account must never stop the others
        log.exception("poll of spotify account %s failed", account.pk)
        return _failed(
            account,
            FailureKind.UNKNOWN,
            f"{type(exc).__name__}: {exc}",
            now=now,
            delay=None,
            tracker=tracker,
        )
    account.tracking_state = tracker.state()
    account.next_poll_at = _next_poll_at(account)
    account.claimed_until = None
    account.last_poll_at = account.last_success_at = now
    account.failure_kind, account.failure_count, account.last_error = "", 0, ""
    account.save(
        update_fields=[
            "realtime_due_at",
            "history_due_at",
            "next_poll_at",
            "claimed_until",
            "last_poll_at",
            "last_success_at",
            "failure_kind",
            "failure_count",
            "last_error",
            "history_cursor_ms",
            "tracking_state",
        ]
    )
    if recorded:
        try:
            rollups_refresh(account.user_id)
        except DatabaseError:  # the plays are stored and marked: housekeeping refreshes later
            log.exception("dashboard rollups of user %s not refreshed", account.user_id)
    return PollOutcome(account.pk, ok=True, plays_recorded=recorded, due_at=due_at)


def log_observation(account: SpotifyAccount, observation: Observation) -> None:
    """With SPOTIFY_POLL_LOG_DIR set, append what the poller saw to the account's poll log
    (the JSON lines `manage.py replay_polls` reads): how play-counting bugs get reproduced."""
    folder = settings.SPOTIFY_POLL_LOG_DIR
    if not folder:
        return
    line = {
        "at": moment_of(observation.at_ms).isoformat(timespec="milliseconds"),
        "endpoint": observation.endpoint,
        "status": observation.status,
        "headers": {},
        "body": observation.body,
    }
    path = Path(folder) / f"account-{account.pk}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(line, separators=(",", ":")) + "\n")


def _next_poll_at(account: SpotifyAccount) -> datetime:
    if account.poll_mode == PollMode.HISTORY:
        return account.history_due_at
    if account.poll_mode == PollMode.REALTIME:
        return account.realtime_due_at
    return min(account.realtime_due_at, account.history_due_at)


def backoff_seconds(kind: FailureKind, failures: int, *, rng: random.Random | None = None) -> float:
    """Capped exponential delay with full jitter over its upper half (so retries spread out)."""
    first, cap = BACKOFF[kind]
    ceiling = min(cap, first * 2 ** max(failures - 1, 0))
    return ceiling * (0.5 + 0.5 * (rng or random).random())


def _failed(
    account: SpotifyAccount,
    kind: FailureKind,
    message: str,
    *,
    now: datetime,
    delay: float | None,
    tracker: Tracker,
) -> PollOutcome:
    failures = account.failure_count + 1 if account.failure_kind == kind else 1
    if kind == FailureKind.AUTH:
        next_poll = now  # the account is no longer active; re-linking resumes it at once
    else:
        seconds = delay if delay is not None else backoff_seconds(kind, failures)
        next_poll = now + timedelta(seconds=seconds)
    SpotifyAccount.objects.filter(pk=account.pk).update(
        next_poll_at=next_poll,
        realtime_due_at=max(account.realtime_due_at, next_poll),
        history_due_at=max(account.history_due_at, next_poll),
        claimed_until=None,
        last_poll_at=now,
        failure_kind=kind,
        failure_count=failures,
        last_error=message[:300],
        tracking_state=tracker.state(),  # what was observed before the failure stays observed
    )
    log.info("poll of spotify account %s failed (%s, #%s): %s", account.pk, kind, failures, message)
    return PollOutcome(account.pk, ok=False, failure=kind, due_at=account.next_poll_at)


def _poll_currently_playing(account: SpotifyAccount, tracker: Tracker) -> int:
    """One currently-playing observation through the tracking engine; returns plays stored."""
    body = accounts.spotify_call(
        account_id=account.pk,
        request=lambda client: client.current_user_playing_track(),
        known=account,
    )
    at = now_ms()
    observation = Observation(at, "currently-playing", 200 if body else 204, body or None)
    log_observation(account, observation)
    return plays_record(user_id=account.user_id, detected=tracker.observe(observation))


def _poll_recently_played(account: SpotifyAccount, tracker: Tracker) -> int:
    """Read the history after the cursor (less the look-back), page by page, oldest first."""
    after_ms = None
    if account.history_cursor_ms is not None:
        after_ms = max(account.history_cursor_ms - int(HISTORY_LOOKBACK.total_seconds() * 1000), 0)
    recorded = 0
    for _ in range(HISTORY_MAX_PAGES):
        body = accounts.spotify_call(
            account_id=account.pk,
            request=lambda client, after=after_ms: client.current_user_recently_played(
                limit=HISTORY_PAGE_SIZE, after=after
            ),
            known=account,
        )
        items = body.get("items") if isinstance(body, dict) else None
        at = now_ms()
        log_observation(
            account,
            Observation(at, "recently-played", 200, body if isinstance(body, dict) else None),
        )
        count, newest_ms = history_record(
            user_id=account.user_id, items=items or [], tracker=tracker, at_ms=at
        )
        recorded += count
        if newest_ms is not None:
            account.history_cursor_ms = max(account.history_cursor_ms or 0, newest_ms)
        cursors = body.get("cursors") if isinstance(body, dict) else None
        next_after = (cursors or {}).get("after")
        if after_ms is None or len(items or []) < HISTORY_PAGE_SIZE or not next_after:
            break  # without a cursor Spotify gives the newest page, and there is no going back
        after_ms = int(next_after)
    return recorded
