"""Prometheus metrics, collected at scrape time from what every process shares: counters and
jobs in the database (collected by the rooms that own them: scrobbler/metrics.py,
imports/metrics.py), the task queue in the broker, realtime clients as ops.realtime counts them.
So any web process answers /metrics with the same numbers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis import Redis

from config.celery import app as celery_app
from ops.realtime import realtime_clients

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


# What the other rooms count (polls, plays, imports): each registers its own collector when its
# app is ready, so that ops, below them, imports none of them.
_room_collectors: list[Collector] = []


def metrics_collector_add(collector: Collector) -> None:
    """Have /metrics include what `collector` yields (called from an AppConfig.ready())."""
    _room_collectors.append(collector)


class OpsCollector(Collector):
    """The task queue and realtime clients."""

    def collect(self) -> Iterator[Metric]:
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
    for collector in [*_room_collectors, OpsCollector()]:
        registry.register(collector)
    return generate_latest(registry)
