"""What a poller sees of a simulated listener, as tracking-engine observations, and how the
engine's plays compare with the listener's ground truth. Pure: used by tests and bench/tracking.py."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from scrobbler.tracking import DetectedPlay, Observation
from spotify_sim.history import HistoryOptions
from spotify_sim.listener import Listener
from spotify_sim.render import context_json, item_json, playback_json
from spotify_sim.times import iso_ms

API = "https://api.spotify.com/v1"


@dataclass(frozen=True)
class PollPlan:
    """How the poller looks: every `interval_ms`, with recently-played every `history_every_ms`
    (0: never), a share of polls failing, and blind spells (poller down) as (start, end) ms."""

    interval_ms: int = 5_000
    history_every_ms: int = 300_000
    error_rate: float = 0.0
    blind: tuple[tuple[int, int], ...] = ()
    jitter_ms: int = 300


@dataclass
class Watched:
    observations: list[Observation]
    observed_plays: set[int] = field(default_factory=set)  # truth indices any observation showed


def watch(
    listener: Listener,
    *,
    start_ms: int,
    end_ms: int,
    plan: PollPlan,
    history: HistoryOptions | None = None,
    seed: int = 0,
) -> Watched:
    rng = random.Random(seed)
    history = history or HistoryOptions()
    watched = Watched(observations=[])
    next_history = start_ms
    t = start_ms
    while t <= end_ms:
        at = t + rng.randint(0, plan.jitter_ms)
        t += plan.interval_ms
        if at > end_ms or any(a <= at < b for a, b in plan.blind):
            continue
        if rng.random() < plan.error_rate:
            status = rng.choice([0, 429, 500, 502, 503])
            watched.observations.append(Observation(at, "currently-playing", status, None))
        else:
            watched.observations.append(_currently_playing(listener, at, watched))
        if plan.history_every_ms and at >= next_history:
            next_history = at + plan.history_every_ms
            watched.observations.append(_recently_played(listener, at, history, watched))
    return watched


def _currently_playing(listener: Listener, at: int, watched: Watched) -> Observation:
    state = listener.state_at(at)
    if state is None or state.segment.private:
        return Observation(at, "currently-playing", 204, None)
    body = playback_json(listener.catalog, state, API, with_device=False, episodes=False)
    if (
        body.get("item") is not None
        and state.segment.play is not None
        and state.segment.kind in ("track", "local")
    ):
        watched.observed_plays.add(state.segment.play)
    return Observation(at, "currently-playing", 200, body)


def _recently_played(
    listener: Listener, at: int, options: HistoryOptions, watched: Watched
) -> Observation:
    page = listener.recently_played(at, limit=50, options=options)
    items = []
    for entry in page.items:
        watched.observed_plays.add(entry.play.index)
        items.append(
            {
                "track": item_json(listener.catalog, entry.play.track_uri, API),
                "played_at": iso_ms(entry.played_at_ms),
                "context": context_json(entry.play.context_uri, API),
            }
        )
    return Observation(at, "recently-played", 200, {"items": items})


@dataclass
class Score:
    truth: int = 0  # observable true plays
    detected: int = 0
    matched: int = 0
    duplicates: int = 0
    ms_errors: list[int] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.matched / self.detected if self.detected else 1.0

    @property
    def recall(self) -> float:
        return self.matched / self.truth if self.truth else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, other: Score) -> None:
        self.truth += other.truth
        self.detected += other.detected
        self.matched += other.matched
        self.duplicates += other.duplicates
        self.ms_errors += other.ms_errors


def score(
    listener: Listener,
    watched: Watched,
    detected: list[DetectedPlay],
    *,
    start_ms: int,
    end_ms: int,
) -> Score:
    """Match detected plays to the observable true plays: same track, overlapping in time."""
    truth = {
        p.index: p
        for p in listener.plays(start_ms, end_ms, overlapping=True)
        if p.index in watched.observed_plays and p.kind in ("track", "local")
    }
    result = Score(truth=len(truth), detected=len(detected))
    taken: set[int] = set()
    for play in sorted(detected, key=lambda d: d.started_at_ms):
        candidates = [
            p
            for p in truth.values()
            if p.track_uri == play.track_uri
            and p.started_at_ms - 20_000 <= play.ended_at_ms
            and play.started_at_ms <= p.ended_at_ms + 20_000
        ]
        if not candidates:
            continue
        best = min(
            candidates, key=lambda p: (p.index in taken, abs(p.ended_at_ms - play.ended_at_ms))
        )
        if best.index in taken:
            result.duplicates += 1
            continue
        taken.add(best.index)
        result.matched += 1
        if (
            play.source == "live" and best.ended_at_ms <= end_ms
        ):  # cut short by the window: no truth
            result.ms_errors.append(abs(play.ms_played - best.ms_played))
    return result
