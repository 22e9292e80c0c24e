"""Prometheus metrics, collected at scrape time from what every process shares: counters and
jobs in the database, the task queue in the broker, realtime clients as ops.realtime counts them.
So any web process answers /metrics with the same numbers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db.models import Count
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis import Redis

from config.celery import app as celery_app
from imports.models import Import
from ops.counters import IMPORT_ROWS, PLAYS_RECORDED, POLL_FAILURES, POLLS, counter_values
from ops.realtime import realtime_clients
from scrobbler.models import FailureKind, Play

# kombu's Redis transport keeps a queue's messages of priority 3, 6 and 9 in lists of their own.
_REDIS_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


def queue_depth(queue: str) -> int:
    """Tasks waiting in the broker's `queue`: the Redis lists' lengths, or the message files of
    the embedded filesystem broker."""
    if settings.REDIS_URL:
        with Redis.from_url(settings.REDIS_URL) as redis:
            return sum(int(redis.llen(queue + suffix)) for suffix in _REDIS_PRIORITY_SUFFIXES)
    folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])  # type: ignore[arg-type]
    return sum(1 for name in folder.iterdir() if name.name.endswith(f".{queue}.msg"))


class EncoreCollector(Collector):
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

        rows = CounterMetricFamily("encore_import_rows", "Listens of exports read and imported")
        rows.add_metric([], counter_values(IMPORT_ROWS).get("", 0))
        yield rows

        jobs = GaugeMetricFamily("encore_import_jobs", "Import jobs by state", labels=["state"])
        by_state = dict(Import.objects.order_by().values_list("status").annotate(count=Count("pk")))
        for state in Import.Status.values:
            jobs.add_metric([state], by_state.get(state, 0))
        yield jobs

        queue = celery_app.conf.task_default_queue
        depth = GaugeMetricFamily(
            "encore_queue_depth", "Tasks waiting for a Celery worker", labels=["queue"]
        )
        depth.add_metric([queue], queue_depth(queue))
        yield depth

        clients = GaugeMetricFamily(
            "encore_realtime_clients", "Open event streams and WebSockets, all web processes"
        )
        clients.add_metric([], realtime_clients())
        yield clients


def metrics_text() -> bytes:
    """The metrics in Prometheus' text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(EncoreCollector())
    return generate_latest(registry)
