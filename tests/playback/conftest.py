"""Fixtures for the playback tests: an empty MUSIC_ROOT of the test's own, events as they leave."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pytest_django import Settings

from playback import events


@pytest.fixture
def music_root(tmp_path: Path, settings: Settings) -> Path:
    root = tmp_path / "music"
    root.mkdir()
    settings.MUSIC_ROOT = root
    settings.COVER_CACHE_DIR = tmp_path / "covers"
    return root


@pytest.fixture(scope="session")
def corpus_flac() -> Path:
    """The real tagged FLAC files of the shared test corpus (never copied into the repository)."""
    folder = Path(os.environ.get("ENCORE_CORPUS", "/work/shared/corpus")) / "flac"
    if not folder.is_dir():
        pytest.skip(f"the test corpus is not here ({folder}); set ENCORE_CORPUS to its folder")
    return folder


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, events.Event]]:
    """Events as they leave for the channel layer."""
    out: list[tuple[int, events.Event]] = []
    monkeypatch.setattr(events, "_send", lambda user_id, event: out.append((user_id, event)))
    return out
