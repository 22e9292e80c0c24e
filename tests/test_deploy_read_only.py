"""Encore runs with a read-only root filesystem, writing only DATA_DIR and /tmp: what the
container image (`read_only: true` in deploy/compose.yaml) and the systemd units
(ProtectSystem=strict with ReadWritePaths=DATA_DIR) promise. Each process runs in a mount
namespace of its own where every mount but /tmp, /proc, /sys and /dev is read-only, on the
embedded defaults (SQLite, the file-based task queue), which write the most."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.processes import ROOT, free_port, process_env, running, web_command

# Runs the command after making everything read-only but /tmp (and the kernel's file systems),
# and after proving that the code can no longer be written.
READ_ONLY = r"""
set -eu
mount --make-rprivate /
mount --bind /tmp /tmp
awk '{print $5}' /proc/self/mountinfo | sort -u | while read -r target; do
  case "$target" in /tmp|/tmp/*|/proc|/proc/*|/sys|/sys/*|/dev|/dev/*) continue ;; esac
  mount -o remount,bind,ro "$target" 2>/dev/null || true
done
# The code may itself live under /tmp (a CI clone): read-only too, as in the image.
mount --bind "$ENCORE_CODE" "$ENCORE_CODE"
mount -o remount,bind,ro "$ENCORE_CODE"
if touch "$ENCORE_CODE/.read-only-probe" 2>/dev/null; then
  echo "the code folder is still writable" >&2
  exit 97
fi
exec "$@"
"""


def mount_namespaces_work() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True, check=False)
    return probe.returncode == 0


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not mount_namespaces_work(),
        reason="needs root and unshare(1) to make mount namespaces (CI runs as root)",
    ),
]


def read_only(*command: str) -> list[str]:
    return ["unshare", "--mount", "sh", "-c", READ_ONLY, "sh", *command]


def test_web_worker_and_beat_run_on_a_read_only_root(tmp_path: Path, static_root: Path) -> None:
    data = tmp_path / "data"
    env = process_env(
        data,
        static_root,
        DATABASE_URL=f"sqlite:///{data / 'encore.sqlite3'}",
        ENCORE_CODE=str(ROOT),
        PYTHONDONTWRITEBYTECODE="1",
        LOG_LEVEL="DEBUG",  # the worker's "succeeded" lines (routine: at INFO they are hidden)
    )
    env.pop("REDIS_URL", None)
    bin_dir = Path(sys.executable).parent
    migrated = subprocess.run(
        read_only(sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr
    assert not (ROOT / ".read-only-probe").exists()

    port = free_port()
    web = read_only(*web_command(port))
    worker = read_only(str(bin_dir / "celery"), "--app", "config", "worker", "--loglevel", "INFO", "--concurrency", "1", "--without-gossip", "--without-mingle")  # fmt: skip
    beat = read_only(str(bin_dir / "celery"), "--app", "config", "beat", "--loglevel", "INFO")
    with (
        running(web, env=env, log=tmp_path / "web.log") as web_proc,
        running(worker, env=env, log=tmp_path / "worker.log") as worker_proc,
        running(beat, env=env, log=tmp_path / "beat.log") as beat_proc,
    ):
        ready = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert web_proc.poll() is None, (tmp_path / "web.log").read_text()
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        assert ready is not None
        assert ready.status_code == 200, ready.text  # database, channel layer and broker
        # Beat queues the poll every second; the worker runs it.
        while "succeeded" not in (tmp_path / "worker.log").read_text():
            assert worker_proc.poll() is None, (tmp_path / "worker.log").read_text()
            assert beat_proc.poll() is None, (tmp_path / "beat.log").read_text()
            assert time.monotonic() < deadline + 30, (tmp_path / "worker.log").read_text()
            time.sleep(0.2)

    assert list(data.glob("celerybeat-schedule*"))  # beat's state went to DATA_DIR
    for log in ("web.log", "worker.log", "beat.log"):
        assert "Read-only file system" not in (tmp_path / log).read_text(), log
