"""A quiet log at INFO (issue 20): what runs by itself every second is said at DEBUG only, so the
lines a person needs (the sign-in hint, errors, imports) are not buried."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.processes import celery_beat, process_env


def beat_log(tmp_path: Path, static_root: Path, level: str) -> str:
    """Celery beat as scripts/run starts it, for long enough to send the per-second poll."""
    data = tmp_path / level
    data.mkdir()  # beat keeps its schedule there (only the filesystem broker creates it itself)
    env = process_env(data, static_root, LOG_LEVEL=level)
    log = tmp_path / f"beat-{level}.log"
    with celery_beat(env, log):
        deadline = time.monotonic() + 30
        # Its schedule file appears once it has started (at INFO it says nothing about that).
        while not list(data.glob("celerybeat-schedule*")) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert list(data.glob("celerybeat-schedule*")), log.read_text()[-2000:]  # it started
        time.sleep(3)  # three ticks of the per-second poll
    return log.read_text()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_beat_says_each_due_task_only_at_debug(tmp_path: Path, static_root: Path) -> None:
    at_info = beat_log(tmp_path, static_root, "INFO")
    at_debug = beat_log(tmp_path, static_root, "DEBUG")
    assert at_debug.count("Sending due task poll-spotify") >= 2, at_debug[-2000:]
    assert "Sending due task" not in at_info, at_info[-2000:]
