"""Poll logs: written by the live poller, replayed by `manage.py replay_polls`."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from pytest_django import Settings

from scrobbler import polling
from scrobbler.models import Play, PollMode, User
from tests.scrobbler.spotify_helpers import sim_linked_account
from tests.spotify_sim.conftest import Sim

pytestmark = pytest.mark.django_db


def simulated_log(tmp_path: Path) -> tuple[Path, Path]:
    log, truth = tmp_path / "polls.jsonl", tmp_path / "truth.jsonl"
    call_command(
        "simulate_polls", str(log), "--truth", str(truth), "--profile", "steady", "--hours", "2",
        stdout=StringIO(),
    )  # fmt: skip
    return log, truth


def test_replay_prints_the_plays_of_a_simulated_log_as_json_lines(tmp_path: Path) -> None:
    log, truth = simulated_log(tmp_path)
    out = StringIO()
    call_command("replay_polls", str(log), stdout=out)
    plays = [json.loads(line) for line in out.getvalue().splitlines()]
    expected = [json.loads(line) for line in truth.read_text().splitlines()]
    expected = [p for p in expected if p["observed"]]
    assert {p["track_uri"] for p in plays} == {p["track_uri"] for p in expected}
    assert len(plays) == len(expected)
    assert set(plays[0]) == {
        "track_uri",
        "started_at",
        "ended_at",
        "ms_played",
        "counted",
        "skipped",
        "source",
    }
    assert not Play.objects.exists()  # printing touches no database


def test_replay_with_user_stores_the_plays_once(tmp_path: Path, alice: User) -> None:
    log, _ = simulated_log(tmp_path)
    call_command("replay_polls", str(log), "--user", "alice", stdout=StringIO())
    stored = Play.objects.filter(user=alice).count()
    assert stored > 0
    call_command("replay_polls", str(log), "--user", "alice", stdout=StringIO())
    assert Play.objects.filter(user=alice).count() == stored


@pytest.mark.parametrize(
    "content",
    [
        '{"at": "2026-03-01T12:00:00Z"}\n',
        "not json\n",
        '{"at": "2026-03-01T12:00:00", "endpoint": "currently-playing", "status": 200, "body": null}\n',
    ],
    ids=["missing-fields", "not-json", "naive-time"],
)
def test_a_malformed_log_is_refused_naming_the_line(tmp_path: Path, content: str) -> None:
    log = tmp_path / "bad.jsonl"
    log.write_text(
        '{"at": "2026-03-01T12:00:00Z", "endpoint": "currently-playing", "status": 204, "body": null}\n'
        + content
    )
    with pytest.raises(CommandError, match="line 2"):
        call_command("replay_polls", str(log), stdout=StringIO())


def test_the_live_poller_writes_a_log_that_replays_to_the_same_plays(
    alice: User, sim: Sim, settings: Settings, tmp_path: Path
) -> None:
    settings.SPOTIFY_API_BASE_URL = sim.api
    settings.SPOTIFY_ACCOUNTS_BASE_URL = sim.accounts
    settings.SPOTIFY_POLL_LOG_DIR = str(tmp_path)
    account = sim_linked_account(alice, sim, "alice-sp", poll_mode=PollMode.HYBRID)
    polling.poll_accounts([account.pk], force=True)
    (log,) = tmp_path.glob("*.jsonl")
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["endpoint"] for r in records][:2] == ["currently-playing", "recently-played"]
    out = StringIO()
    call_command("replay_polls", str(log), stdout=out)
    replayed = {
        (p["track_uri"], p["ended_at"]) for p in map(json.loads, out.getvalue().splitlines())
    }
    history = {
        (uri, ended.isoformat(timespec="milliseconds"))
        for uri, ended in Play.objects.filter(user=alice, source=Play.Source.HISTORY).values_list(
            "track__uri", "ended_at"
        )
        if uri.startswith("spotify:track:")
    }
    assert history
    assert history <= replayed
