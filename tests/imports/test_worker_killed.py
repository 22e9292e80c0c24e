"""A real Celery worker killed in the middle of an import: another one finishes it, exactly."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import msgspec
import pytest
from django.contrib.auth.hashers import make_password

from imports.models import Import, ImportBatch
from ops.models import JobRun
from scrobbler.models import Play, User
from spotify_sim.export import synthetic_export
from tests.conftest import PASSWORD
from tests.imports.importing import run_import, stored
from tests.processes import BIN, ROOT, celery_worker, csrf_token, process_env, sign_in, web_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _export(path: Path, plays: int) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, records in synthetic_export(plays, seed="killed", start_ms=1_600_000_000_000):
            archive.writestr(
                f"Spotify Extended Streaming History/{name}", msgspec.json.encode(records)
            )
    return path


def _kill_with_children(pid: int) -> None:
    """SIGKILL a worker and its pool processes: nothing gets to clean up."""
    children = [
        int(status.parent.name)
        for status in Path("/proc").glob("[0-9]*/status")
        if f"\nPPid:\t{pid}\n" in status.read_text(errors="replace")
    ]
    for victim in [pid, *children]:
        os.kill(victim, signal.SIGKILL)


def _wait(condition: str, check: object, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {condition}")


def test_an_import_whose_worker_is_killed_ends_exactly_as_an_uninterrupted_one(
    tmp_path: Path, static_root: Path
) -> None:
    export = _export(tmp_path / "my_spotify_data.zip", 60_000)
    whole = run_import(User.objects.create(username="reference"), export)

    User.objects.create(username="alice", password=make_password(PASSWORD, hasher="pbkdf2_sha256"))
    env = process_env(tmp_path, static_root, IMPORT_BATCH_ROWS="1000", IMPORT_LEASE_SECONDS="3")
    with web_server(env, tmp_path / "web.log") as base:
        client = sign_in(base, "alice", PASSWORD)
        client.get("/imports/")
        response = client.post(
            "/imports/",
            data={"csrfmiddlewaretoken": csrf_token(client)},
            files={"files": ("my_spotify_data.zip", export.read_bytes(), "application/zip")},
        )
        assert response.status_code == 302, response.text
        imp = Import.objects.get(user__username="alice")

        with celery_worker(env, tmp_path / "worker-1.log") as worker:
            _wait("the analysis", lambda: Import.objects.get(pk=imp.pk).status == "ready")
            page = client.get(f"/imports/{imp.public_id}/")
            assert f"Import {whole.report['new']:,} new listens" in page.text
            client.post(
                f"/imports/{imp.public_id}/confirm",
                data={"csrfmiddlewaretoken": csrf_token(client)},
            )
            _wait("a few batches", lambda: ImportBatch.objects.filter(job=imp).count() >= 5)
            _kill_with_children(worker.pid)
            worker.wait()

        imp.refresh_from_db()
        assert imp.status == Import.Status.IMPORTING
        partly = Play.objects.filter(user__username="alice").count()
        assert 0 < partly < whole.result["added"]

        # A new worker, and housekeeping (beat's job, sent by hand here) queues the job again
        # once the dead worker's lease has run out.
        with celery_worker(env, tmp_path / "worker-2.log"):
            time.sleep(3.5)
            subprocess.run(
                [str(BIN / "celery"), "--app", "config", "call", "imports.housekeeping"],
                cwd=ROOT, env=env, check=True, capture_output=True, timeout=60,
            )  # fmt: skip
            _wait("the import to finish", lambda: Import.objects.get(pk=imp.pk).finished)

    imp.refresh_from_db()
    assert imp.status == Import.Status.DONE, imp.error
    assert imp.result == whole.result
    alice = User.objects.get(username="alice")
    reference = User.objects.get(username="reference")
    assert stored(alice) == stored(reference)
    assert not (tmp_path / "imports" / str(imp.public_id)).exists()  # the upload is deleted
    # The killed worker's run, found still "running" when the import resumed, and the run that
    # finished it.
    runs = JobRun.objects.filter(kind=JobRun.Kind.IMPORT, details__import=str(imp.public_id))
    lost, resumed = runs.order_by("pk")
    assert (lost.status, lost.details["error"]) == (JobRun.Status.FAILED, "worker lost")
    assert resumed.status == JobRun.Status.SUCCEEDED
    assert 0 < resumed.details["rows"] < whole.rows_total
