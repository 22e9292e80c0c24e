"""Time conversions for the simulator: epoch milliseconds <-> aware UTC datetimes <-> ISO 8601."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

Instant = datetime | int
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MS = timedelta(milliseconds=1)


def to_ms(value: Instant) -> int:
    """Epoch milliseconds of an aware datetime (or the int itself). Naive datetimes are refused."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC datetime")
        return (value - EPOCH) // MS  # integer arithmetic: no float rounding
    return int(value)


def from_ms(ms: int) -> datetime:
    """The aware UTC datetime of epoch milliseconds."""
    return EPOCH + ms * MS


def iso_ms(ms: int) -> str:
    """ISO 8601 with milliseconds and ``Z``, as Spotify writes ``played_at``."""
    moment = from_ms(ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def iso_s(ms: int) -> str:
    """ISO 8601 to the second with ``Z``, as Spotify writes ``added_at``."""
    return from_ms(ms).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_instant(value: str | int) -> int:
    """Epoch ms from an int, a digit string or an ISO 8601 string (``Z`` or an offset)."""
    if isinstance(value, int):
        return value
    text = value.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return to_ms(moment)
