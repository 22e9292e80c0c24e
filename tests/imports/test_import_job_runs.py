"""Each run of an import is a JobRun: its rows, its outcome, and runs a dead worker left."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from imports import services
from imports.models import Import
from ops.models import JobRun
from scrobbler.models import User
from tests.imports.importing import analyse, extended_listen, run_import, write_json

pytestmark = pytest.mark.django_db


def _listens(count: int) -> list[dict[str, Any]]:
    return [extended_listen(f"2024-03-{1 + n // 60:02d}T10:{n % 60:02d}:00Z") for n in range(count)]


def _runs() -> list[JobRun]:
    return list(JobRun.objects.filter(kind=JobRun.Kind.IMPORT).order_by("pk"))


def test_an_import_run_records_a_succeeded_job_run_with_its_rows(
    alice: User, tmp_path: Path
) -> None:
    path = write_json(tmp_path / "endsong_0.json", _listens(30))
    first = run_import(alice, path)
    again = run_import(alice, path)  # the same listens: all already in Encore

    runs = _runs()
    assert [run.status for run in runs] == [JobRun.Status.SUCCEEDED] * 2
    assert runs[0].details == {
        "import": str(first.public_id),
        "attempt": 1,
        "rows": 30,
        "imported": 30,
        "skipped": 0,
    }
    assert runs[1].details["import"] == str(again.public_id)
    assert (runs[1].details["imported"], runs[1].details["skipped"]) == (0, 30)
    assert all(run.duration_seconds is not None and run.duration_seconds >= 0 for run in runs)


def test_an_import_whose_files_broke_records_a_failed_run_with_the_error(
    alice: User, tmp_path: Path
) -> None:
    path = write_json(tmp_path / "endsong_0.json", _listens(3))
    imp = analyse(alice, path)
    services.import_confirm(imp=imp, queue=False)
    path.write_text("this is not an export")  # changed since the analysis

    services.import_run(import_id=imp.pk)

    imp.refresh_from_db()
    assert imp.status == Import.Status.FAILED
    [run] = _runs()
    assert run.status == JobRun.Status.FAILED
    assert run.details["error"] == imp.error != ""
    assert run.finished_at is not None


def test_a_run_that_crashes_records_failed_with_the_exception(
    alice: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    imp = analyse(alice, write_json(tmp_path / "endsong_0.json", _listens(3)))
    services.import_confirm(imp=imp, queue=False)

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(services, "match_batch", crash)
    with pytest.raises(RuntimeError):
        services.import_run(import_id=imp.pk)

    [run] = _runs()
    assert run.status == JobRun.Status.FAILED
    assert run.details["error"] == "RuntimeError: a bug"


class WorkerDied(BaseException):
    """The process is gone: nothing after this point runs (not even `except Exception`)."""


def test_a_run_a_dead_worker_left_running_fails_as_worker_lost_when_the_import_resumes(
    alice: User,
    tmp_path: Path,
    settings: Settings,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    settings.IMPORT_BATCH_ROWS = 10
    imp = analyse(alice, write_json(tmp_path / "endsong_0.json", _listens(40)))
    services.import_confirm(imp=imp, queue=False)

    def die_after_two_batches(job: Import) -> None:
        if job.rows_done >= 20:
            raise WorkerDied

    with pytest.raises(WorkerDied):
        services.import_run(import_id=imp.pk, progress=die_after_two_batches)
    [dead] = _runs()
    assert dead.status == JobRun.Status.RUNNING  # as a killed worker leaves it

    # Housekeeping finds the lease run out and queues the import again (run eagerly here).
    Import.objects.filter(pk=imp.pk).update(claimed_until=datetime(2000, 1, 1, tzinfo=UTC))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.imports_resume_stalled() == 1

    imp.refresh_from_db()
    assert imp.status == Import.Status.DONE
    dead, resumed = _runs()
    assert dead.status == JobRun.Status.FAILED
    assert dead.details["error"] == "worker lost"
    assert dead.finished_at is not None
    assert resumed.status == JobRun.Status.SUCCEEDED
    assert (dead.details["attempt"], resumed.details["attempt"]) == (1, 2)
    # The resumed run wrote only what the dead one had not committed.
    assert (resumed.details["rows"], resumed.details["imported"]) == (20, 20)
