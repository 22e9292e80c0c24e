"""Reconciliation: recently-played items matched against what live tracking saw.

Contract: `Reconciler.reconcile(items, at)` takes the items of one recently-played answer and
returns the plays they make final; each listen comes out once, whichever half saw it. Live
tracking hands every play it closes to `Reconciler.hand_over`. Pure Python: no Django, no I/O,
no clock.

- An item that matches a live play (by its end, or its start: Spotify's `played_at` is usually
  the end, sometimes the start) is the same listen; an item for the play still in progress is
  noted on it; anything else was played while the poller was blind and becomes a play of its own
  (source "history"). Items already dealt with (`history_seen`, and the floor below which
  items are old) are not counted again.
- A live play whose end was not seen (the poller was blind when it ended) is held back until
  recently-played says how it ended, or for SETTLE_MS at most (`settle`).
- Live plays are remembered for REMEMBER_MS for matching, since items appear late (`forget`).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from scrobbler.epoch import ms_of
from scrobbler.tracking.state import (
    END_SLACK_MS,
    MATCH_WINDOW_MS,
    REMEMBER_MS,
    SETTLE_MS,
    TOLERANCE_MS,
    UNSEEN_COST,
    DetectedPlay,
    OpenPlay,
    Pending,
    Remembered,
    State,
    brief_track,
)


class Reconciler:
    """The recently-played half of a Tracker: reads and changes the state it shares."""

    def __init__(self, state: State) -> None:
        self._s = state

    def hand_over(
        self,
        closed: OpenPlay,
        play: dict[str, Any],
        *,
        end_ms: int,
        seen_end: bool,
        until_ms: int | None,
    ) -> list[DetectedPlay]:
        """A live play just closed (`play`: its DetectedPlay fields): remember it for matching
        items, and emit it, or hold it back when its end was not seen and no item listed it."""
        self._s.remembered.append(
            Remembered(
                closed.uri,
                closed.started_at_ms,
                play["ended_at_ms"],
                until_ms=max(until_ms or end_ms, end_ms),
                matched=closed.listed,
                earliest_ms=closed.earliest_ms,
                blind_before=closed.blind_before,
                start_claim_ms=closed.start_claim_ms,
            )
        )
        if not seen_end and not closed.listed:
            self._s.pending.append(Pending(play, latest_end_ms=end_ms))
            return []
        return [DetectedPlay(**play)]

    def release(self) -> list[DetectedPlay]:
        """Everything held back, as it stands (the end of a replayed log)."""
        out = [DetectedPlay(**pending.play) for pending in self._s.pending]
        self._s.pending = []
        return out

    def reconcile(self, items: list[Any], at: int) -> list[DetectedPlay]:
        """One recently-played answer's items, seen at `at`; returns the plays they make final."""
        out: list[DetectedPlay] = []
        # Counted, not a set: two plays of one track can share a played_at (a repeat-one play
        # dated by its start right where the previous one, dated by its end, ended).
        seen = Counter((uri, played) for uri, played in self._s.history_seen)
        in_answer: Counter[tuple[str, int]] = Counter()
        parsed = []
        for item in items:
            track = item.get("track") if isinstance(item, dict) else None
            played_at = _parse_ms(item.get("played_at")) if isinstance(item, dict) else None
            if (
                not isinstance(track, dict)
                or not isinstance(track.get("uri"), str)
                or played_at is None
            ):
                continue
            parsed.append((played_at, str(track["uri"]), track))
        # Items older than the floor were dealt with by earlier answers. The floor follows
        # Spotify's own played_at values, not our clock, so clock skew cannot move it.
        floor = self._s.history_floor_ms
        fresh: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for played_at, uri, track in sorted(parsed, key=lambda p: p[0]):
            if floor is not None and played_at < floor:
                continue
            in_answer[(uri, played_at)] += 1
            if in_answer[(uri, played_at)] <= seen[(uri, played_at)]:
                continue
            self._s.history_seen.append([uri, played_at])
            fresh.setdefault(uri, []).append((played_at, track))
        for uri, listed in fresh.items():
            out += self._assign(uri, listed, at)
        if parsed:
            newest = max(p[0] for p in parsed)
            self._s.history_floor_ms = max(floor or 0, newest - REMEMBER_MS)
            self._s.history_seen = [
                h for h in self._s.history_seen if h[1] >= self._s.history_floor_ms
            ]
        return out

    def _unseen(self, uri: str, track: dict[str, Any], played_at: int) -> DetectedPlay:
        """A play recently-played lists and live observation did not see: dated by its end,
        unless a play of the same track already ends there (then this one began there)."""
        duration = int(track.get("duration_ms") or 0)
        start, end = played_at - duration, played_at
        for r in self._s.remembered:
            if r.uri != uri:
                continue
            if (
                r.start_claim_ms is not None
                and abs(r.start_claim_ms - played_at) <= MATCH_WINDOW_MS
            ):
                r.start_claim_ms = None  # this is the unseen play its claim might have hidden
            if abs(r.ended_at_ms - played_at) <= TOLERANCE_MS:
                start, end = played_at, played_at + duration
        self._s.remembered.append(Remembered(uri, start, end, until_ms=end, matched=True))
        return DetectedPlay(
            track_uri=uri,
            track=brief_track(track),
            started_at_ms=start,
            ended_at_ms=end,
            ms_played=duration,
            counted=True,  # Spotify lists only plays of 30 s or more
            skipped=False,
            source="history",
        )

    def _latest_end(self, current: OpenPlay, at: int) -> int:
        """The latest the open play can have ended: by its natural end if it was playing when
        last seen, but any time until now if it was paused (it may have resumed unseen)."""
        if not current.playing:
            return at
        remaining = max(0, current.duration_ms - current.last_progress_ms)
        return max(current.last_at_ms + remaining, current.started_at_ms + current.duration_ms)

    def _assign(
        self, uri: str, listed: list[tuple[int, dict[str, Any]]], at: int
    ) -> list[DetectedPlay]:
        """Match new recently-played items of one track (oldest first) to the live plays of it
        not yet listed, keeping both in time order. An item belongs to a play when it falls
        between its start and when live observation saw it was over (a play left paused ends
        at the pause, but Spotify dates it when the next track began; a play whose end went
        unseen may have run to its natural end). Items dated at a play's end are preferred to
        items dated at its start (Spotify's usual dating), and an item no play can take is a
        play the poller did not see. Matching in order, not greedily, keeps back-to-back plays
        of one track (repeat-one) straight when some are dated by start and some by end."""
        out: list[DetectedPlay] = []
        items = [(p, t) for p, t in listed if not self._take_over(uri, p, t, out)]
        plays: list[Remembered | OpenPlay] = sorted(
            (r for r in self._s.remembered if r.uri == uri and not r.matched),
            key=lambda r: r.started_at_ms,
        )
        current = self._s.current
        if current is not None and current.uri == uri and not current.listed:
            plays.append(current)
        pending = {(p.play["track_uri"], p.play["started_at_ms"]): p for p in self._s.pending}
        costs = [[self._match_cost(p, item, at, pending) for p in plays] for item, _ in items]
        for (played_at, track), index in zip(items, _align(costs), strict=True):
            if index is None:
                out.append(self._unseen(uri, track, played_at))
                continue
            play = plays[index]
            if _provisional(play, played_at):
                play.start_claim_ms = played_at
            if isinstance(play, OpenPlay):
                play.listed = True
                continue
            play.matched = True
            held = pending.get((play.uri, play.started_at_ms))
            if held is not None:
                out.append(self._complete(held, play, played_at))
        return out

    def _match_cost(
        self,
        play: Remembered | OpenPlay,
        played_at: int,
        at: int,
        pending: dict[tuple[str, int], Pending],
    ) -> float | None:
        """How unlikely it is that the item dated played_at lists this play; None: it cannot."""
        if isinstance(play, OpenPlay):
            latest, end = self._latest_end(play, at), None
        else:
            latest, end = (
                play.until_ms,
                min(abs(play.ended_at_ms - played_at), abs(play.until_ms - played_at)),
            )
            held = pending.get((play.uri, play.started_at_ms))
            if held is not None:
                latest = max(
                    latest, play.started_at_ms + int(held.play["track"].get("duration_ms") or 0)
                )
        earliest = min(play.started_at_ms, play.earliest_ms or play.started_at_ms)
        if not earliest - MATCH_WINDOW_MS <= played_at <= latest + MATCH_WINDOW_MS:
            return None
        if end is not None and end <= MATCH_WINDOW_MS:
            return end / (10 * MATCH_WINDOW_MS)
        start = abs(play.started_at_ms - played_at)
        if start <= MATCH_WINDOW_MS:
            return 1 + start / (10 * MATCH_WINDOW_MS)
        return 0.5

    def _take_over(
        self, uri: str, played_at: int, track: dict[str, Any], out: list[DetectedPlay]
    ) -> bool:
        """An item dated at (or before) the start of a play first seen after a blind spell was
        only a provisional match: it may be the end of an unseen play of the same track
        (repeat-one). When an item that fits the play better turns up, dated at its end (or at
        its start, against one dated before it), it takes the play over, and the earlier item
        becomes the unseen play it was."""
        for r in self._s.remembered:
            claim = r.start_claim_ms
            if r.uri != uri or claim is None or claim >= played_at:
                continue
            by_end = abs(r.ended_at_ms - played_at) <= MATCH_WINDOW_MS
            # An item dated right at its start beats one dated in its unsure start, before it.
            by_start = (
                claim < r.started_at_ms - MATCH_WINDOW_MS
                and abs(r.started_at_ms - played_at) <= MATCH_WINDOW_MS
            )
            if by_end or by_start:
                r.start_claim_ms = played_at if _provisional(r, played_at) else None
                out.append(self._unseen(uri, track, claim))
                return True
        return False

    def _complete(self, held: Pending, remembered: Remembered, played_at: int) -> DetectedPlay:
        """recently-played lists a play whose end we did not see: it ran until played_at (when
        that is its end rather than its start), and Spotify counted it."""
        play = held.play
        start = play["started_at_ms"]
        duration = int(play["track"].get("duration_ms") or 0)
        if played_at > start + MATCH_WINDOW_MS:
            # It kept playing from where it was last seen until played_at (pauses before that
            # were seen and are not heard time).
            more = max(0, played_at - play["ended_at_ms"])
            play["ended_at_ms"] = max(play["ended_at_ms"], played_at)
            heard = play["ms_played"] + more
            play["ms_played"] = min(duration, heard) if duration else heard
        play["counted"] = True
        play["skipped"] = play["ms_played"] < duration - END_SLACK_MS if duration else False
        self._s.pending.remove(held)
        remembered.ended_at_ms = play["ended_at_ms"]
        return DetectedPlay(**play)

    def settle(self, at: int) -> list[DetectedPlay]:
        """Emit, as live tracking saw them, the plays held back for SETTLE_MS without news."""
        ready = [p for p in self._s.pending if at - p.latest_end_ms >= SETTLE_MS]
        self._s.pending = [p for p in self._s.pending if p not in ready]
        return [DetectedPlay(**p.play) for p in ready]

    def forget(self, at: int) -> None:
        """Drop live plays older than REMEMBER_MS: items that late are not matched to them."""
        horizon = at - REMEMBER_MS
        self._s.remembered = [r for r in self._s.remembered if r.ended_at_ms >= horizon]


def _align(costs: list[list[float | None]]) -> list[int | None]:
    """The cheapest order-keeping assignment of items (rows) to plays (columns): costs[i][j]
    is the cost of item i listing play j (None: it cannot); an item left out costs
    UNSEEN_COST. Returns each item's play index, or None for an unseen play."""
    n, m = len(costs), len(costs[0]) if costs else 0
    # cost[i][j]: the cheapest way to place the first i items among the first j plays.
    cost = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        cost[i][0] = i * UNSEEN_COST
        for j in range(1, m + 1):
            best = min(cost[i][j - 1], cost[i - 1][j] + UNSEEN_COST)
            pair = costs[i - 1][j - 1]
            if pair is not None:
                best = min(best, cost[i - 1][j - 1] + pair)
            cost[i][j] = best
    chosen: list[int | None] = [None] * n
    i, j = n, m
    while i > 0:
        pair = costs[i - 1][j - 1] if j > 0 else None
        if j > 0 and cost[i][j] == cost[i][j - 1]:
            j -= 1
        elif pair is not None and cost[i][j] == cost[i - 1][j - 1] + pair:
            chosen[i - 1] = j - 1
            i, j = i - 1, j - 1
        else:
            i -= 1
    return chosen


def _provisional(play: OpenPlay | Remembered, played_at: int) -> bool:
    """Whether the item dated played_at may instead be the end of an unseen play of the same
    track: it dates the play by its start (or before it, where its start is unsure) and the
    poller was blind before that start."""
    if played_at < play.started_at_ms - MATCH_WINDOW_MS:
        return True  # only in the unsure start of a play first seen after a blind spell
    end = play.ended_at_ms if isinstance(play, Remembered) else None
    return (
        play.blind_before
        and abs(play.started_at_ms - played_at) <= MATCH_WINDOW_MS
        and (end is None or abs(end - played_at) > MATCH_WINDOW_MS)
    )


def _parse_ms(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return ms_of(parsed)
