"""The Redis channel layer (scale-out realtime), tuned to the Redis client underneath it."""

from __future__ import annotations

from channels_redis.core import RedisChannelLayer


class QuietSafeRedisChannelLayer(RedisChannelLayer):
    """channels-redis waits for messages in blocking pops of `brpop_timeout` seconds (5), and
    redis-py gives up reading a reply after its socket timeout (also 5 s by default): the empty
    reply to a pop that found nothing came a moment too late, so every client that heard nothing
    for five seconds lost its stream. Pops of one second leave the read a wide margin (a raised
    socket timeout instead left consumers hanging when cancelled)."""

    brpop_timeout = 1
