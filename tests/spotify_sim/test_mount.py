"""The simulator inside Encore (config/urls.py) and standalone (manage.py spotify_simulator)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.test import Client

from tests.processes import ROOT, free_port


@pytest.mark.skipif(not settings.SPOTIFY_SIMULATOR, reason="SPOTIFY_SIMULATOR is off")
def test_encore_mounts_the_simulator_under_spotify_sim() -> None:
    client = Client(HTTP_HOST="127.0.0.1")
    response = client.get("/spotify-sim/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "No token provided"
    assert client.get("/spotify-sim/").json()["api_base_url"].endswith("/spotify-sim/v1")


@pytest.mark.slow
def test_the_command_serves_the_simulator_alone_at_spotify_sim(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "ENCORE_ENV_FILE": str(tmp_path / "no.env"), "DATA_DIR": str(tmp_path)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    args = [sys.executable, "manage.py", "spotify_simulator", "--port", str(port), "--quiet"]
    log = (tmp_path / "simulator.log").open("wb")
    process = subprocess.Popen(
        [*args, "--clock", "simulated"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}/spotify-sim"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp_path / "simulator.log").read_text()
            try:
                clock = httpx.get(f"{base}/_control/clock", timeout=1).json()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the simulator did not start"
                time.sleep(0.1)
        assert clock["mode"] == "simulated"
        token = httpx.post(f"{base}/_control/accounts/demo/tokens").json()["access_token"]
        me = httpx.get(f"{base}/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["id"] == "demo"
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()
    assert "SPOTIFY_API_BASE_URL=" in (tmp_path / "simulator.log").read_text()
