"""scripts/setup says exactly what to install when a prerequisite is missing, and stops."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import ROOT


def run_setup_with_only(tmp_path: Path, tools: dict[str, str]) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, target in tools.items():
        (bin_dir / name).symlink_to(target)
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "setup"), "--for-tests"],
        env={"PATH": str(bin_dir), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def basics() -> dict[str, str]:
    tools = {name: shutil.which(name) for name in ("bash", "dirname", "cat", "sha256sum", "cut")}
    missing = [name for name, path in tools.items() if path is None]
    if missing:
        pytest.skip(f"this machine lacks {missing}")
    return {name: str(path) for name, path in tools.items()}


def test_missing_python_is_explained(tmp_path: Path) -> None:
    result = run_setup_with_only(tmp_path, basics())
    assert result.returncode == 1
    assert "Python 3.11 is required" in result.stderr
    assert "apt-get install python3.11 python3.11-venv" in result.stderr


def test_missing_npm_is_explained(tmp_path: Path) -> None:
    tools = {**basics(), "python3.11": sys.executable}
    result = run_setup_with_only(tmp_path, tools)
    assert result.returncode == 1
    assert "sudo apt-get install nodejs npm" in result.stderr
    assert "installing" not in result.stdout  # stopped before touching anything
