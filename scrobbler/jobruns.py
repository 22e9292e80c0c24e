"""Polling's JobRuns: one row per UTC minute, which each beat tick of that minute adds itself to.

A tick runs every second, so a row per tick would flood the table. A tick counts its polls in
memory and then writes them with one UPDATE that adds to the minute's row in the database
(`JSONIncrement`): no read first, so ticks on several workers at once lose nothing. The first
tick of a minute inserts the row. Housekeeping deletes the rows older than JOB_RUN_POLLS_DAYS.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, NotSupportedError, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Func, JSONField
from django.db.models.functions import Greatest, Least
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone

from ops.models import JobRun
from scrobbler.models import FailureKind

# Failures that make a minute "failed": only UNKNOWN, an exception no handler foresaw (a bug, or a
# response Encore cannot read), and a tick that crashed. Revoked links (AUTH), Spotify's 429s
# (RATE_LIMIT) and Spotify or network outages (NETWORK) are the ordinary weather of polling: each
# is handled (re-link asked, backoff) and counted in the details, and the minute still succeeds.
UNEXPECTED_FAILURES = frozenset({FailureKind.UNKNOWN})


@dataclass
class PollTick:
    """What one tick did, counted in memory by its polling threads."""

    started_at: datetime
    finished_at: datetime | None = None
    crashed: bool = False
    polled: int = 0
    plays: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, *, failure: str, plays: int) -> None:
        with self._lock:
            self.polled += 1
            self.plays += plays
            if failure:
                self.failures[failure] += 1

    @property
    def failed(self) -> bool:
        return self.crashed or any(self.failures[kind] for kind in UNEXPECTED_FAILURES)

    def increments(self) -> dict[str, int]:
        """The tick's counts as paths into the row's details."""
        counts = {
            "ticks": 1,
            "ticks_crashed": int(self.crashed),
            "polled": self.polled,
            "plays": self.plays,
        }
        return counts | {f"failures.{kind}": self.failures[kind] for kind in FailureKind.values}


def minute_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def poll_tick_record(tick: PollTick) -> None:
    """Add a finished tick to the row of the UTC minute it started in: one UPDATE (an INSERT
    as well for a minute's first tick), whatever the number of accounts polled."""
    finished_at = tick.finished_at or timezone.now()
    minute = minute_of(tick.started_at)
    changes: dict[str, Any] = {
        "details": JSONIncrement("details", tick.increments()),
        # Ticks on several workers can write out of order: the row spans all of them.
        "started_at": Least(F("started_at"), tick.started_at),
        "finished_at": Greatest(F("finished_at"), finished_at),
    }
    if tick.failed:
        changes["status"] = JobRun.Status.FAILED
    row = JobRun.objects.filter(kind=JobRun.Kind.POLLS, minute=minute)
    if row.update(**changes):
        return
    try:
        with transaction.atomic():
            JobRun.objects.create(
                kind=JobRun.Kind.POLLS,
                minute=minute,
                status=JobRun.Status.FAILED if tick.failed else JobRun.Status.SUCCEEDED,
                started_at=tick.started_at,
                finished_at=finished_at,
                details=_nested(tick.increments()),
            )
    except IntegrityError:  # a tick on another worker inserted the minute's row first
        row.update(**changes)


def poll_minutes_prune(*, now: datetime | None = None) -> int:
    """Delete the polling rows older than JOB_RUN_POLLS_DAYS; returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.JOB_RUN_POLLS_DAYS)
    deleted, _ = JobRun.objects.filter(kind=JobRun.Kind.POLLS, minute__lt=cutoff).delete()
    return deleted


def _nested(increments: Mapping[str, int]) -> dict[str, Any]:
    details: dict[str, Any] = {}
    for path, amount in increments.items():
        *parents, key = path.split(".")
        node = details
        for parent in parents:
            node = node.setdefault(parent, {})
        node[key] = amount
    return details


class JSONIncrement(Func):
    """A JSON object field with the numbers at some paths ("ticks", "failures.auth") increased,
    in SQL, so that concurrent UPDATEs add up. The paths must exist (the row is created with
    them all); paths are fixed identifiers of this module, never user input."""

    output_field = JSONField()

    def __init__(self, field_name: str, increments: Mapping[str, int]) -> None:
        super().__init__(F(field_name))
        self.increments = dict(increments)

    def as_sql(self, *args: Any, **kwargs: Any) -> Any:
        raise NotSupportedError("JSONIncrement supports SQLite and PostgreSQL")

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, list[Any]]:
        column, column_params = compiler.compile(self.source_expressions[0])
        # json_set reads every json_extract from the row as it was: the increments are
        # independent of one another.
        sql, params = [column], list(column_params)
        for path, amount in self.increments.items():
            sql.append(f"%s, COALESCE(json_extract({column}, %s), 0) + %s")
            params += ["$." + path, *column_params, "$." + path, amount]
        return f"json_set({', '.join(sql)})", params

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, list[Any]]:
        column, column_params = compiler.compile(self.source_expressions[0])
        sql, params = column, list(column_params)
        for path, amount in self.increments.items():
            keys = "{" + path.replace(".", ",") + "}"
            sql = (
                f"jsonb_set({sql}, %s::text[], "
                f"to_jsonb(COALESCE(({column} #>> %s::text[])::bigint, 0) + %s))"
            )
            params = [*params, keys, *column_params, keys, amount]
        return sql, params
