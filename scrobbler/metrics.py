"""Polling's and recording's figures for /metrics (ops.metrics)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from ops.counters import PLAYS_RECORDED, POLL_FAILURES, POLLS, counter_values
from scrobbler.models import FailureKind, Play


class PollingCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        polls = CounterMetricFamily("encore_polls", "Spotify polls made (both endpoints count one)")
        polls.add_metric([], counter_values(POLLS).get("", 0))
        yield polls

        failures = CounterMetricFamily(
            "encore_poll_failures", "Spotify polls that failed, by kind", labels=["kind"]
        )
        failed = counter_values(POLL_FAILURES)
        for kind in FailureKind.values:
            failures.add_metric([kind], failed.get(kind, 0))
        yield failures

        plays = CounterMetricFamily(
            "encore_plays_recorded", "Plays stored, by where they came from", labels=["source"]
        )
        recorded = counter_values(PLAYS_RECORDED)
        for source in Play.Source.values:
            plays.add_metric([source], recorded.get(source, 0))
        yield plays
