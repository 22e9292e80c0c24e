from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.core.cache import cache
from pytest_django import Settings

from scrobbler.models import User
from spotify_sim.server import make_server
from tests.factories import UserFactory
from tests.processes import manage
from tests.spotify_sim.conftest import T0, Sim

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    """Each test starts with nothing cached (a rolled-back test's ids come round again)."""
    cache.clear()


@pytest.fixture
def alice(db: None) -> User:
    return UserFactory.create(username="alice")


@pytest.fixture
def bob(db: None) -> User:
    return UserFactory.create(username="bob")


@pytest.fixture
def staff(db: None) -> User:
    return UserFactory.create(username="operator", is_staff=True)


@pytest.fixture(scope="session")
def static_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Static files collected once, as in production, for the real servers that tests start."""
    root = tmp_path_factory.mktemp("static")
    env = {**os.environ, "STATIC_ROOT": str(root), "ENCORE_ENV_FILE": str(root / "no.env")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = manage("collectstatic", "--no-input", "-v", "0", env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    return root


@pytest.fixture(scope="session")
def spotify_exports() -> Path:
    """The real Spotify exports of the shared test corpus (never copied into the repository)."""
    folder = Path(os.environ.get("ENCORE_CORPUS", "/work/shared/corpus")) / "spotify-exports"
    if not folder.is_dir():
        pytest.skip(f"the test corpus is not here ({folder}); set ENCORE_CORPUS to its folder")
    return folder


# The Spotify simulator over real HTTP, for every room's tests that talk to Spotify.
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
