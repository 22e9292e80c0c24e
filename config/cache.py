"""Django's Redis cache with one connection pool per process."""

from __future__ import annotations

import threading
from typing import Any

import redis


class ProcessConnectionPool(redis.ConnectionPool):
    """The same pool for every cache object of a process. Django makes a cache object, and with
    it a connection pool, per thread; over ASGI every request runs on a thread of its own, so
    each rate-limited request (django-ratelimit counts in the cache) opened a new connection to
    Redis, which cost a playback control a tenth of its time. redis-py's pools are thread-safe,
    and start afresh in a forked child (Celery's workers)."""

    _shared: dict[tuple[str, tuple[tuple[str, Any], ...]], redis.ConnectionPool] = {}
    _shared_lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> redis.ConnectionPool:  # type: ignore[override]
        key = (url, tuple(sorted(kwargs.items())))
        with cls._shared_lock:
            if key not in cls._shared:
                cls._shared[key] = super().from_url(url, **kwargs)
            return cls._shared[key]
