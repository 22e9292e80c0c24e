from __future__ import annotations

from pathlib import Path

from bench.common import peak_rss_mb, percentile, scratch


def test_p95_of_twenty_requests_is_the_nineteenth() -> None:
    times = [float(n) for n in range(1, 21)]
    assert percentile(times, 0.95) == 19.0
    assert percentile(times, 0.5) == 10.0
    assert percentile([7.0], 0.95) == 7.0
    assert percentile([], 0.5) == 0.0


def test_peak_memory_of_this_process_is_counted_once_per_process() -> None:
    own = peak_rss_mb()
    assert own > 1
    assert 2 * own <= peak_rss_mb(["self", "self"]) <= 2.1 * own  # the peak only grows


def test_the_scratch_folder_is_gone_afterwards_unless_kept() -> None:
    with scratch("test") as work:
        (work / "file").write_text("x")
    assert not work.exists()
    with scratch("test", keep=True) as kept:
        pass
    assert Path(kept).is_dir()
    kept.rmdir()
