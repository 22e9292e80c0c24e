"""How many realtime clients (event streams and WebSockets) are connected, across processes.

Each web process counts its own open connections. With Redis (several web processes), each one
also keeps its count in a Redis key of its own that expires unless refreshed: refreshed at
every change and every REFRESH_SECONDS, so the keys of a process that died vanish within
KEY_SECONDS and /metrics, served by any process, sums the live ones. Without Redis there is one
web process (the in-memory channel layer serves only one), and its own count is the truth.
"""

from __future__ import annotations

import asyncio
import os
import socket

from django.conf import settings
from redis import Redis as SyncRedis
from redis.asyncio import Redis

KEY_PREFIX = "encore:realtime-clients:"
REFRESH_SECONDS = 15.0
KEY_SECONDS = 45

_key = f"{KEY_PREFIX}{socket.gethostname()}:{os.getpid()}"
_open = 0
_refresher: asyncio.Task[None] | None = None
_client: tuple[asyncio.AbstractEventLoop, Redis] | None = None


async def realtime_client_joined() -> None:
    global _open
    _open += 1
    await _publish()


async def realtime_client_left() -> None:
    global _open
    _open = max(_open - 1, 0)
    await _publish()


def realtime_clients() -> int:
    """Open realtime connections of every web process."""
    if not settings.REDIS_URL:
        return _open
    with SyncRedis.from_url(settings.REDIS_URL) as redis:
        keys = [key for key in redis.scan_iter(match=f"{KEY_PREFIX}*") if key != _key.encode()]
        others = [int(value) for value in redis.mget(keys) if value is not None] if keys else []
    return _open + sum(others)  # this process's own count, exact even before it is published


async def _publish() -> None:
    if settings.REDIS_URL:
        _keep_refreshing()
        await _write()


def _keep_refreshing() -> None:
    """One task per process (per event loop) refreshes the key while clients are connected."""
    global _refresher
    loop = asyncio.get_running_loop()
    if _refresher is None or _refresher.done() or _refresher.get_loop() is not loop:
        _refresher = loop.create_task(_refresh())


async def _refresh() -> None:
    while _open > 0:
        await asyncio.sleep(REFRESH_SECONDS)
        await _write()


async def _write() -> None:
    try:
        await _redis().set(_key, _open, ex=KEY_SECONDS)
    except Exception:  # counting must never break a client's stream
        return


def _redis() -> Redis:
    """This event loop's client: every join and leave writes, and a thousand players joining at
    once (after a restart) must not open a thousand connections. A client belongs to the loop
    its connections were made on."""
    global _client
    loop = asyncio.get_running_loop()
    if _client is None or _client[0] is not loop:
        _client = (loop, Redis.from_url(settings.REDIS_URL))
    return _client[1]
