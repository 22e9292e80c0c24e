"""Fixtures for everything under tests/scrobbler/: the Spotify simulator over real HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest
from pytest_django import Settings

from scrobbler.spotify.simulator.server import make_server
from tests.scrobbler.simulator.conftest import T0, Sim


@pytest.fixture(scope="session")
def sim_server() -> Iterator[str]:
    """The simulator's base URL (``http://127.0.0.1:PORT/spotify-sim``), served until the end."""
    server = make_server("127.0.0.1", 0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/spotify-sim"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def sim(sim_server: str) -> Iterator[Sim]:
    """A fresh simulator with a simulated clock at ``T0``."""
    with httpx.Client(timeout=10) as client:
        helper = Sim(sim_server, client)
        helper.control("POST", "reset", {"clock": "simulated"})
        helper.set_clock(T0)
        yield helper
        helper.control("POST", "reset")


@pytest.fixture
def spotify(settings: Settings, sim: Sim) -> Sim:
    """Encore pointed at the simulator."""
    settings.SPOTIFY_API_BASE_URL = sim.api
    settings.SPOTIFY_ACCOUNTS_BASE_URL = sim.accounts
    return sim
