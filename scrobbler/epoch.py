"""Epoch milliseconds, the one way: an instant as whole milliseconds since 1970-01-01 UTC.

Exact integer arithmetic on datetimes and timedeltas, never float `timestamp() * 1000`: ms_of
floors to the millisecond (also before 1970, where int() of a float would round towards zero),
and ms_of(moment_of(ms)) == ms for every ms a datetime can hold. Plain Python with no Django, so
the tracking engine and the export parsers use it too; now_ms reads the same clock as Django's
timezone.now() (UTC, with USE_TZ).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MS = timedelta(milliseconds=1)


def ms_of(moment: datetime) -> int:
    """Milliseconds since the epoch of an aware datetime (any zone), floored to the millisecond."""
    return (moment - EPOCH) // MS


def moment_of(ms: int) -> datetime:
    """The instant `ms` milliseconds after the epoch, as a UTC datetime."""
    return EPOCH + timedelta(milliseconds=ms)


def now_ms() -> int:
    """The current time in epoch milliseconds."""
    return ms_of(datetime.now(UTC))
