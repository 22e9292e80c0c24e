from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.media import range_pick

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed (apt-get install nginx)")  # fmt: skip
def test_media_bench_quick_run_serves_the_right_bytes_from_all_three_targets() -> None:
    # The bench's own SQLite database and settings: never the suite's database, which it would
    # drop and create anew were it PostgreSQL.
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY")}  # fmt: skip
    run = subprocess.run(
        [sys.executable, "bench/media.py", "--quick"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    for target in ("nginx", "direct", "offloaded"):
        assert f"{target}: " in run.stdout
    assert run.stdout.count("all equal; no errors") == 3, run.stdout
    assert "target >= 50%" in run.stdout


def test_browser_like_ranges_stay_inside_the_file() -> None:
    rng = random.Random(1)
    size = 5_000_000
    for _ in range(2_000):
        header, start, length, stop_after = range_pick(rng, size)
        assert 0 <= start < size
        assert 0 < length <= size - start
        assert stop_after > 0
        if header.endswith("-"):
            assert header == f"bytes={start}-"
            assert length == size - start
        else:
            assert header == f"bytes={start}-{start + length - 1}"
            assert 256 * 1024 <= length <= 2 * 1024 * 1024
