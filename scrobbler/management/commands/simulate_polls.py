from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from scrobbler.simulated import PollPlan, watch
from spotify_sim.history import HistoryOptions
from spotify_sim.listener import Listener
from spotify_sim.profiles import PROFILES, resolve_profile
from spotify_sim.times import iso_ms

START_MS = 1_772_366_400_000  # 2026-03-01T12:00:00Z: any fixed instant keeps logs reproducible


class Command(BaseCommand):
    help = (
        "Write the poll log a poller would record for a simulated listener, and its ground truth "
        "(the plays that really happened) beside it: test material for replay_polls."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("out", help="the poll log to write (JSON lines)")
        parser.add_argument("--truth", help="where to write the ground-truth plays (JSON lines)")
        parser.add_argument("--profile", default="mixed", choices=sorted(PROFILES))
        parser.add_argument("--seed", default="1")
        parser.add_argument("--hours", type=float, default=6.0)
        parser.add_argument(
            "--interval", type=float, default=5.0, help="currently-playing period, s"
        )
        parser.add_argument(
            "--history-every", type=float, default=300.0, help="recently-played period, s"
        )
        parser.add_argument("--error-rate", type=float, default=0.0)

    def handle(self, *args: Any, **options: Any) -> None:
        listener = Listener(options["seed"], resolve_profile(options["profile"]), START_MS)
        end = START_MS + int(options["hours"] * 3_600_000)
        plan = PollPlan(
            interval_ms=int(options["interval"] * 1000),
            history_every_ms=int(options["history_every"] * 1000),
            error_rate=options["error_rate"],
        )
        watched = watch(
            listener, start_ms=START_MS, end_ms=end, plan=plan, history=HistoryOptions()
        )
        with open(options["out"], "w", encoding="utf-8") as out:
            for observation in watched.observations:
                record = {
                    "at": iso_ms(observation.at_ms),
                    "endpoint": observation.endpoint,
                    "status": observation.status,
                    "headers": {},
                    "body": observation.body,
                }
                out.write(json.dumps(record, separators=(",", ":")) + "\n")
        if options["truth"]:
            with open(options["truth"], "w", encoding="utf-8") as out:
                for play in listener.plays(START_MS, end, overlapping=True):
                    observed = play.index in watched.observed_plays
                    out.write(
                        json.dumps(
                            {
                                "track_uri": play.track_uri,
                                "started_at": iso_ms(play.started_at_ms),
                                "ended_at": iso_ms(play.ended_at_ms),
                                "ms_played": play.ms_played,
                                "end_reason": play.end_reason,
                                "observed": observed,
                            }
                        )
                        + "\n"
                    )
        self.stdout.write(f"{len(watched.observations)} observations written to {options['out']}")
