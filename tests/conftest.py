from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.cache import cache

from scrobbler.models import User
from tests.factories import UserFactory
from tests.processes import manage

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
