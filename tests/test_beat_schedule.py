"""Celery beat's schedule is built in settings: every period is a named setting read from the
environment, and every entry expires just before its next run, so runs cannot pile up
(STYLE.md, "Settings")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.processes import manage
from tests.test_startup import GOOD_KEY, clean_env

# Each beat entry and the setting (and environment variable) that holds its period. A new entry
# needs a line here, so it cannot arrive with a period written into the schedule.
PERIODS = {
    "poll-spotify": "POLL_TICK_SECONDS",
    "fetch-metadata": "METADATA_INTERVAL_SECONDS",
    "fetch-pictures": "PICTURES_INTERVAL_SECONDS",
    "scan-playlists": "PLAYLIST_SCAN_SECONDS",
    "rollups-housekeeping": "ROLLUPS_HOUSEKEEPING_SECONDS",
    "imports-housekeeping": "IMPORTS_HOUSEKEEPING_SECONDS",
    "global-stats": "GLOBAL_STATS_SECONDS",
    "library-scan": "LIBRARY_SCAN_SECONDS",
    "playback-housekeeping": "PLAYBACK_HOUSEKEEPING_SECONDS",
    "demo-link": "DEMO_LINK_SECONDS",  # demo mode only
}
SCHEDULE = (
    "import json; from django.conf import settings; "
    "print(json.dumps({name: [entry['schedule'], entry['options']['expires']]"
    " for name, entry in settings.CELERY_BEAT_SCHEDULE.items()}))"
)


def test_each_beat_entry_runs_every_its_setting_and_expires_before_the_next_run(
    settings: Any,
) -> None:
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert set(schedule) <= set(PERIODS), "name the setting of each new entry in PERIODS"
    for name, entry in schedule.items():
        period = getattr(settings, PERIODS[name])
        assert entry["schedule"] == period, name
        assert 0 < entry["options"]["expires"] < period, name


def test_each_beat_period_follows_its_environment_variable(tmp_path: Path) -> None:
    periods = {variable: 101.0 + n for n, variable in enumerate(PERIODS.values())}
    env = clean_env(tmp_path, SECRET_KEY=GOOD_KEY, **{k: str(v) for k, v in periods.items()})
    result = manage("shell", "-c", SCHEDULE, env=env)
    assert result.returncode == 0, result.stderr
    schedule = json.loads(result.stdout.splitlines()[-1])
    assert set(schedule) == set(PERIODS)  # without Spotify credentials: demo mode, demo-link too
    for name, (period, expires) in schedule.items():
        assert period == periods[PERIODS[name]], name
        assert period * 0.8 < expires < period, name


def test_the_filesystem_broker_delivers_well_within_the_shortest_expiry(settings: Any) -> None:
    """A worker on the embedded broker finds a message up to `polling_interval` after it is
    sent: longer than an entry's expiry, and in an unlucky phase every run of it arrived expired
    (the demo's per-second poll was discarded forever, and no plays were recorded)."""
    if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        pytest.skip("Redis delivers a message as soon as it is sent: no polling interval")
    polling = settings.CELERY_BROKER_TRANSPORT_OPTIONS["polling_interval"]
    shortest = min(entry["options"]["expires"] for entry in settings.CELERY_BEAT_SCHEDULE.values())
    assert polling <= shortest / 5
