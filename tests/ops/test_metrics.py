"""/metrics: who may read it, and real numbers after real polls, plays, imports and clients."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from pytest_django import Settings

from config.celery import app as celery_app
from imports.models import Import
from ops.metrics import queue_depth
from playback import sessions
from scrobbler import polling
from scrobbler.models import Play, User
from tests.factories import TrackFactory
from tests.imports.importing import extended_listen, run_import, write_json
from tests.playback.test_sessions import at, device, in_library, play_track
from tests.scrobbler.spotify_helpers import sim_linked_account
from tests.spotify_sim.conftest import Sim

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-tests-0123456789"
Scrape = Callable[[], dict[tuple[str, tuple[tuple[str, str], ...]], float]]


@pytest.fixture
def scrape(client: Client, settings: Settings) -> Scrape:
    """Scrape /metrics as Prometheus does and parse it with prometheus_client's own parser:
    {(sample name, sorted labels): value}."""
    settings.METRICS_TOKEN = TOKEN

    def read() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain; version=")
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.content.decode())
            for sample in family.samples
        }

    return read


def value(metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str):
    return metrics[(name, tuple(sorted(labels.items())))]


# --- access ----------------------------------------------------------------------------------


def test_without_a_token_set_only_staff_see_metrics(
    client: Client, alice: User, staff: User, settings: Settings
) -> None:
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404
    client.force_login(alice)
    assert client.get("/metrics").status_code == 404
    client.force_login(staff)
    assert client.get("/metrics").status_code == 200


def test_the_bearer_token_opens_metrics_and_nothing_else_does(
    client: Client, settings: Settings
) -> None:
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    for wrong in (f"Bearer {TOKEN}x", TOKEN, f"Basic {TOKEN}", "Bearer", ""):
        assert client.get("/metrics", HTTP_AUTHORIZATION=wrong).status_code == 404
    assert client.get(f"/metrics?token={TOKEN}").status_code == 404
    assert client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405


# --- values ----------------------------------------------------------------------------------


def test_polls_failures_and_the_plays_they_record_are_counted(
    alice: User, spotify: Sim, scrape: Scrape
) -> None:
    before = scrape()
    assert value(before, "encore_polls_total") == 0
    assert value(before, "encore_poll_failures_total", kind="network") == 0
    account = sim_linked_account(alice, spotify, "alice-sp")
    polling.poll_accounts([account.pk], force=True)
    spotify.advance(3600)
    polling.poll_accounts([account.pk], force=True)
    spotify.fault(kind="error", status=502, endpoint="v1/*", count=1)
    polling.poll_accounts([account.pk], force=True)
    spotify.fault(kind="rate_limit", endpoint="v1/*", count=1)
    polling.poll_accounts([account.pk], force=True)

    after = scrape()
    assert value(after, "encore_polls_total") == 4
    assert value(after, "encore_poll_failures_total", kind="network") == 1
    assert value(after, "encore_poll_failures_total", kind="rate_limit") == 1
    assert value(after, "encore_poll_failures_total", kind="auth") == 0
    history = Play.objects.filter(user=alice, source=Play.Source.HISTORY).count()
    live = Play.objects.filter(user=alice, source=Play.Source.LIVE).count()
    assert history + live > 0  # an hour of the simulated listener's plays
    assert value(after, "encore_plays_recorded_total", source="history") == history
    assert value(after, "encore_plays_recorded_total", source="live") == live


def test_a_paused_account_claimed_meanwhile_is_no_poll(alice: User, scrape: Scrape) -> None:
    from tests.scrobbler.spotify_helpers import linked_account

    account = linked_account(alice, polling_paused=True)
    polling.poll_accounts([account.pk], force=True)
    assert value(scrape(), "encore_polls_total") == 0


def test_imports_count_rows_plays_and_jobs_by_state(
    alice: User, scrape: Scrape, tmp_path: Path, settings: Settings
) -> None:
    settings.IMPORT_DIR = tmp_path / "imports"
    records = [extended_listen(f"2024-03-0{day}T10:00:00Z") for day in (1, 2, 3)]
    account_data = [
        {"endTime": "2024-04-01 10:00", "artistName": "B", "trackName": "T", "msPlayed": 1}
    ]
    run_import(alice, write_json(tmp_path / "Streaming_History_Audio_2024.json", records))
    run_import(alice, write_json(tmp_path / "StreamingHistory_music_0.json", account_data))
    Import.objects.create(user=alice, name="waiting", status=Import.Status.READY)

    metrics = scrape()
    assert value(metrics, "encore_import_rows_total") == 4
    assert value(metrics, "encore_plays_recorded_total", source="import") == 3
    assert value(metrics, "encore_plays_recorded_total", source="account") == 1
    assert value(metrics, "encore_import_jobs", state="done") == 2
    assert value(metrics, "encore_import_jobs", state="ready") == 1
    assert value(metrics, "encore_import_jobs", state="failed") == 0


def test_local_plays_are_counted(alice: User, scrape: Scrape) -> None:
    track = in_library(TrackFactory.create(duration_ms=200_000))
    laptop = device(alice)
    play_track(at(alice, laptop, 0), track_id=track.pk)
    sessions.playback_stop(at(alice, laptop, 60))
    assert value(scrape(), "encore_plays_recorded_total", source="local") == 1


def test_queue_depth_counts_the_tasks_waiting_in_the_broker(scrape: Scrape) -> None:
    name = f"encore-test-{uuid.uuid4().hex[:8]}"
    with celery_app.connection_for_write() as connection:
        waiting = connection.SimpleQueue(name)
        try:
            for number in range(3):
                waiting.put({"n": number})
            assert queue_depth(name) == 3
            waiting.get(timeout=5).ack()
            assert queue_depth(name) == 2
        finally:
            waiting.clear()
            waiting.close()
    assert queue_depth(name) == 0
    assert value(scrape(), "encore_queue_depth", queue="celery") >= 0


@pytest.mark.django_db(transaction=True)
def test_realtime_clients_are_counted_while_connected(
    client: Client, alice: User, scrape: Scrape
) -> None:
    from config.asgi import application

    client.force_login(alice)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    before = value(scrape(), "encore_realtime_clients")
    counts: list[float] = []

    async def scenario() -> None:
        sockets = [
            WebsocketCommunicator(
                application,
                "/ws/playback",
                headers=[(b"cookie", cookie), (b"origin", b"http://localhost")],
            )
            for _ in range(2)
        ]
        for socket in sockets:
            assert (await socket.connect())[0]
            await socket.receive_json_from()
        counts.append(await _scrape_async(scrape))
        await sockets[0].disconnect()
        counts.append(await _scrape_async(scrape))
        await sockets[1].disconnect()

    async_to_sync(scenario)()
    assert counts == [before + 2, before + 1]
    assert value(scrape(), "encore_realtime_clients") == before
    assert timezone.now()  # the scrape above ran after both disconnected


async def _scrape_async(scrape: Scrape) -> float:
    from asgiref.sync import sync_to_async

    return value(await sync_to_async(scrape)(), "encore_realtime_clients")
