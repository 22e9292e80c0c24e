"""Start-up refuses bad configuration with one clear line and a non-zero exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.processes import ROOT, manage, web_command

GOOD_KEY = "k" * 50


def clean_env(tmp_path: Path, **values: str) -> dict[str, str]:
    """An environment with nothing of the developer's: no .env, only what the test gives."""
    import os

    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "PYTHONPATH"}}
    env.update(ENCORE_ENV_FILE=str(tmp_path / "absent.env"), DATA_DIR=str(tmp_path / "var"))
    env.update(values)
    return env


def assert_one_line_error(result: subprocess.CompletedProcess[str], *names: str) -> str:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("encore: ")
    for name in names:
        assert name in lines[0]
    return lines[0]


def test_unsupported_database_url_is_one_line(tmp_path: Path) -> None:
    env = clean_env(tmp_path, SECRET_KEY=GOOD_KEY, DATABASE_URL="mysql://db.example/encore")
    line = assert_one_line_error(manage("check", env=env), "DATABASE_URL")
    assert "sqlite" in line
    assert "postgres" in line


def test_garbage_database_url_is_one_line(tmp_path: Path) -> None:
    env = clean_env(tmp_path, SECRET_KEY=GOOD_KEY, DATABASE_URL="not a url")
    assert_one_line_error(manage("check", env=env), "DATABASE_URL")


def test_unreachable_database_is_one_line_without_the_password(tmp_path: Path) -> None:
    env = clean_env(
        tmp_path, SECRET_KEY=GOOD_KEY, DATABASE_URL="postgres://encore:hunter2@127.0.0.1:1/encore"
    )
    line = assert_one_line_error(manage("migrate", env=env), "DATABASE_URL", "127.0.0.1:1")
    assert "hunter2" not in line


def test_missing_secret_key_is_one_line(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    assert_one_line_error(manage("check", env=env), "SECRET_KEY")


def test_production_mode_requires_the_spotify_secret(tmp_path: Path) -> None:
    env = clean_env(
        tmp_path,
        SECRET_KEY=GOOD_KEY,
        SPOTIFY_CLIENT_ID="abc",
        SPOTIFY_REDIRECT_URI="https://encore.example/spotify/callback",
    )
    assert_one_line_error(manage("check", env=env), "SPOTIFY_CLIENT_SECRET")


def test_secrets_can_come_from_files(tmp_path: Path) -> None:
    (tmp_path / "key").write_text(GOOD_KEY + "\n")
    (tmp_path / "spotify").write_text("s3cret\n")
    (tmp_path / "tokens").write_text(Fernet.generate_key().decode() + "\n")
    env = clean_env(
        tmp_path,
        SECRET_KEY_FILE=str(tmp_path / "key"),
        SPOTIFY_CLIENT_ID="abc",
        SPOTIFY_CLIENT_SECRET_FILE=str(tmp_path / "spotify"),
        SPOTIFY_REDIRECT_URI="https://encore.example/spotify/callback",
        TOKEN_ENCRYPTION_KEYS_FILE=str(tmp_path / "tokens"),
    )
    result = manage("check", env=env)
    assert result.returncode == 0, result.stderr


def test_unreadable_secret_file_is_one_line(tmp_path: Path) -> None:
    env = clean_env(tmp_path, SECRET_KEY_FILE=str(tmp_path / "missing"))
    assert_one_line_error(manage("check", env=env), "SECRET_KEY_FILE")


def test_web_server_with_missing_secret_exits_with_one_line(tmp_path: Path) -> None:
    env = clean_env(tmp_path, SPOTIFY_CLIENT_ID="abc")
    result = subprocess.run(
        web_command(0),
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert_one_line_error(result, "SECRET_KEY")


@pytest.mark.parametrize("module", ["config.wsgi"])
def test_wsgi_entry_point_fails_the_same_way(tmp_path: Path, module: str) -> None:
    env = clean_env(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert_one_line_error(result, "SECRET_KEY")


def test_async_requests_run_their_whole_middleware_chain_without_a_thread() -> None:
    """One sync-only middleware would push every request (media, /events) onto a thread."""
    from asgiref.sync import SyncToAsync
    from django.core.handlers.asgi import ASGIHandler

    handler = ASGIHandler()
    handler.load_middleware(is_async=True)
    assert not isinstance(getattr(handler, "_middleware_chain"), SyncToAsync)  # noqa: B009
