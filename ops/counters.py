"""Running totals shared by every process (ops.models.MetricCounter), read by /metrics."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Mapping

from django.db import IntegrityError, transaction
from django.db.models import F

from ops.models import MetricCounter

POLLS = "polls"
POLL_FAILURES = "poll_failures"
PLAYS_RECORDED = "plays_recorded"
IMPORT_ROWS = "import_rows"


def counters_add(increments: Mapping[tuple[str, str], int]) -> None:
    """Add to counters by (name, label). Called inside the caller's transaction, a write's
    count commits (or rolls back) with the write itself."""
    for (name, label), amount in sorted(increments.items()):  # one lock order: no deadlocks
        if amount <= 0:
            continue
        if MetricCounter.objects.filter(name=name, label=label).update(value=F("value") + amount):
            continue
        try:
            with transaction.atomic():
                MetricCounter.objects.create(name=name, label=label, value=amount)
        except IntegrityError:  # another process created it first
            MetricCounter.objects.filter(name=name, label=label).update(value=F("value") + amount)


def counter_values(name: str) -> dict[str, int]:
    return dict(MetricCounter.objects.filter(name=name).values_list("label", "value"))


class PollTally:
    """Poll outcomes counted in memory by the polling threads and written every few seconds:
    one write per worker a few times a minute instead of one per poll (hundreds a second)."""

    FLUSH_SECONDS = 5.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()
        self._flushed_at = time.monotonic()

    def add(self, failure: str) -> None:
        with self._lock:
            self._counts[(POLLS, "")] += 1
            if failure:
                self._counts[(POLL_FAILURES, failure)] += 1
            due = time.monotonic() - self._flushed_at >= self.FLUSH_SECONDS
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            counts, self._counts = self._counts, Counter()
            self._flushed_at = time.monotonic()
        if counts:
            counters_add(counts)
