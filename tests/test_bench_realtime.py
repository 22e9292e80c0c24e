"""bench/realtime.py runs end to end (a smoke run: its figures are for people, not asserts)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_realtime_benchmark_delivers_every_event() -> None:
    import redis

    url = "redis://127.0.0.1:6379/13"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("Redis is not running at 127.0.0.1:6379 (the benchmark needs it)")
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    result = subprocess.run(
        [sys.executable, "bench/realtime.py", "--quick"],
        cwd=ROOT,
        env={**env, "REDIS_URL": url},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "20 controls, 80 deliveries, 0 missing" in result.stdout, result.stdout
