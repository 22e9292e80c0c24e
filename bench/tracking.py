"""How well and how fast the play-tracking engine counts plays, on simulated listeners.

For each listener profile, generates listeners (seeded), polls them as Encore does (every 5 s,
recently-played every 5 minutes), optionally with failed polls, blind spells and Spotify's
history quirks, feeds the observations to the engine and compares its plays with ground truth:

- precision, recall and F1 over the plays some observation showed,
- duplicates (two detected plays for one real one),
- ms_played error of live plays (p50 / p95),
- observations per second through the engine (one core, state kept in memory).

    .venv/bin/python bench/tracking.py               # clean polling
    .venv/bin/python bench/tracking.py --hard        # errors, blind spells, history quirks
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import arguments, percentile
from scrobbler.simulated import PollPlan, Score, score, watch
from scrobbler.tracking import Tracker
from spotify_sim.history import HistoryOptions
from spotify_sim.listener import Listener
from spotify_sim.profiles import PROFILES, resolve_profile

T0 = 1_772_366_400_000
HOUR = 3_600_000


def result_line(result: Score) -> str:
    """A profile's row after its name: counts, precision, recall, F1, duplicates, ms error."""
    p50, p95 = percentile(result.ms_errors, 0.5), percentile(result.ms_errors, 0.95)
    return (
        f"{result.truth:6} {result.detected:6} {result.precision:9.4f} {result.recall:7.4f} "
        f"{result.f1:7.4f} {result.duplicates:5} {p50:7.0f}/{p95:<7.0f}"
    )


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--listeners", type=int, default=10, help="per profile")
    parser.add_argument("--hours", type=float, default=6.0)
    parser.add_argument(
        "--hard", action="store_true", help="5%% failed polls, blind spells, history quirks"
    )
    args = parser.parse_args()
    end = T0 + int(args.hours * HOUR)
    if args.hard:
        plan = PollPlan(
            error_rate=0.05,
            blind=(
                (T0 + HOUR, T0 + HOUR + 20 * 60_000),
                (T0 + 3 * HOUR, T0 + 3 * HOUR + 45 * 60_000),
            ),
        )
        history = HistoryOptions(
            played_at_start_fraction=0.2,
            delay_tracks=2,
            drop_next_after_30s_fraction=0.3,
            seeked_to_end_listed_fraction=0.5,
        )
    else:
        plan, history = PollPlan(), HistoryOptions()
    print(
        f"{args.listeners} listeners x {args.hours:g} h per profile, {'hard' if args.hard else 'clean'} polling"
    )
    print(
        f"{'profile':14} {'truth':>6} {'found':>6} {'precision':>9} {'recall':>7} {'F1':>7} {'dups':>5} {'ms err p50/p95':>15}"
    )
    total = Score()
    observations = 0
    engine_seconds = 0.0
    for profile in sorted(PROFILES):
        result = Score()
        for n in range(args.listeners):
            listener = Listener(f"bench-{n}", resolve_profile(profile), T0)
            watched = watch(listener, start_ms=T0, end_ms=end, plan=plan, history=history, seed=n)
            tracker = Tracker()
            started = time.perf_counter()
            detected = [
                p for o in watched.observations for p in tracker.observe(o)
            ] + tracker.flush(end)
            engine_seconds += time.perf_counter() - started
            observations += len(watched.observations)
            result.add(score(listener, watched, detected, start_ms=T0, end_ms=end))
        total.add(result)
        print(f"{profile:14} {result_line(result)}")
    print(f"{'all':14} {result_line(total)}")
    print(
        f"engine: {observations / engine_seconds:,.0f} observations/s on one core ({observations:,} observations)"
    )


if __name__ == "__main__":
    main()
