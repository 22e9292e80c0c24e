"""The README's promise: in demo mode, plays arrive on the dashboard within a minute of start."""

from __future__ import annotations

import html
import time
from pathlib import Path

import pytest
from django.contrib.auth.hashers import make_password

from scrobbler.models import Play, SpotifyAccount, User
from tests.processes import celery_beat, celery_worker, free_port, process_env, sign_in, web_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_demo_user_is_linked_to_the_simulator_and_plays_arrive(
    tmp_path: Path, static_root: Path
) -> None:
    demo = User.objects.create(
        username="demo", password=make_password("demo", hasher="pbkdf2_sha256")
    )
    port = free_port()
    env = process_env(tmp_path, static_root, WEB_PORT=str(port), PORT="1")
    started = time.monotonic()
    with (
        web_server(env, tmp_path / "web.log", port=port) as base,
        celery_worker(env, tmp_path / "worker.log"),
        celery_beat(env, tmp_path / "beat.log"),
    ):
        while time.monotonic() - started < 60 and not Play.objects.filter(user=demo).exists():
            time.sleep(1)
        elapsed = time.monotonic() - started
        page = sign_in(base, "demo", "demo").get("/recent/").text
    account = SpotifyAccount.objects.get(user=demo)
    assert account.spotify_user_id == "demo"
    assert elapsed < 60, (tmp_path / "worker.log").read_text()[-3000:]
    newest = Play.objects.filter(user=demo).select_related("track").order_by("-ended_at").first()
    assert newest is not None
    assert html.escape(newest.track.name) in page
