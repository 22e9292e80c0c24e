"""Poll logs (JSON lines, see ARCHITECTURE.md) read back into tracking-engine observations."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime

from scrobbler.epoch import ms_of
from scrobbler.tracking import DetectedPlay, Observation, Tracker

ENDPOINTS = ("currently-playing", "recently-played")


class PollLogError(ValueError):
    """A line of the log is not an observation; the message names the line."""


def read_poll_log(lines: Iterable[str]) -> Iterator[Observation]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            at = datetime.fromisoformat(str(record["at"]).replace("Z", "+00:00"))
            endpoint = record["endpoint"]
            status = int(record["status"])
            body = record.get("body")
        except (ValueError, KeyError, TypeError) as exc:
            raise PollLogError(f"line {number}: not a poll record ({exc})") from exc
        if (
            at.tzinfo is None
            or endpoint not in ENDPOINTS
            or not (body is None or isinstance(body, dict))
        ):
            raise PollLogError(
                f"line {number}: needs an aware 'at', a known 'endpoint', an object 'body'"
            )
        yield Observation(ms_of(at), endpoint, status, body)


def replay(
    observations: Iterable[Observation], *, play_min_ms: int, play_min_ratio: float | None = None
) -> Iterator[DetectedPlay]:
    """The plays the engine detects in these observations, the open one included at the end."""
    tracker = Tracker(play_min_ms=play_min_ms, play_min_ratio=play_min_ratio)
    last = None
    for observation in observations:
        last = observation.at_ms
        yield from tracker.observe(observation)
    if last is not None:
        yield from tracker.flush(last)
