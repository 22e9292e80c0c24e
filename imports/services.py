"""Import jobs: analyse (what would happen), then import (make it happen).

Both read every file afresh (`imports.reading`: a million plays parse in seconds), resolve
catalog ids in bulk, then walk the listens in time order in batches, each matched against the
user's stored plays around it (`imports.matching`). Importing writes each batch (`imports.writes`)
in one transaction with an `ImportBatch` row, several batches side by side on PostgreSQL. A job
picked up again after a crash skips the committed batches: the same result as a run that was
never interrupted.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from imports.matching import batches, match_batch, plays_refine, track_ids
from imports.models import Import, ImportBatch
from imports.parsing import ExportError, Listens
from imports.reading import prepare
from imports.tasks import import_analyse as import_analyse_task
from imports.tasks import import_run as import_run_task
from imports.writes import plays_by_source, plays_write
from ops.counters import IMPORT_ROWS, PLAYS_RECORDED, counters_add
from ops.models import JobRun
from scrobbler.epoch import moment_of
from scrobbler.models import User
from scrobbler.rollups import rollups_refresh_later
from scrobbler.sql import long_queries

log = logging.getLogger(__name__)

Progress = Callable[[Import], None]
MAX_ATTEMPTS = 5  # workers that took one import up and died or crashed, before it fails


class IncomingUpload(TemporaryUploadedFile):
    """An uploaded file as it arrives, in IMPORT_DIR's `incoming` folder: `import_create` renames
    it into its import's folder (the same file system), so the upload is written to disk once.
    Deleted when the request ends if it was not kept."""

    def __init__(self, name: str, content_type: str | None) -> None:
        incoming = Path(settings.IMPORT_DIR) / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        file = tempfile.NamedTemporaryFile(suffix=".upload", dir=incoming)  # noqa: SIM115
        UploadedFile.__init__(self, file, name, content_type, 0, None)


def import_create(*, user: User, uploads: list[UploadedFile]) -> Import:
    """Keep the uploaded files for the job (analysed by a worker next): moved into the import's
    folder if they arrived in IMPORT_DIR (`IncomingUpload`), else copied there."""
    imp = Import(user=user, name=", ".join(u.name or "upload" for u in uploads)[:300])
    folder = Path(settings.IMPORT_DIR) / str(imp.public_id)
    folder.mkdir(parents=True, exist_ok=False)
    stored = []
    for number, upload in enumerate(uploads):
        path = folder / f"{number}.upload"
        if isinstance(upload, IncomingUpload):
            assert upload.file is not None
            upload.file.flush()
            os.replace(upload.temporary_file_path(), path)  # written once, by the upload handler
        else:
            with path.open("wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
        stored.append(
            {"name": upload.name or f"upload {number + 1}", "path": str(path), "owned": True}
        )
    imp.files = stored
    imp.save()
    _enqueue(imp, run=False)
    return imp


def import_create_from_paths(*, user: User, paths: list[Path]) -> Import:
    """An import of files on this machine (the command line); they are read, never deleted."""
    for path in paths:
        if not path.is_file():
            raise ExportError("no such file", file=str(path))
    return Import.objects.create(
        user=user,
        name=", ".join(p.name for p in paths)[:300],
        files=[{"name": p.name, "path": str(p.resolve()), "owned": False} for p in paths],
    )


def _enqueue(imp: Import, *, run: bool) -> None:
    """Have a worker analyse the import (or, with `run`, import it) once this transaction
    commits."""
    if run:
        transaction.on_commit(lambda: import_run_task.delay(imp.pk))
    else:
        transaction.on_commit(lambda: import_analyse_task.delay(imp.pk))


def _claim(import_id: int, *, status: str, to: str) -> str | None:
    """Take the job if it is in `status` and nobody holds it; returns the holder's token."""
    token = uuid.uuid4().hex
    now = timezone.now()
    taken = (
        Import.objects.filter(pk=import_id, status__in=[status, to])
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(status=to, claimed_by=token, claimed_until=_lease_end(), attempts=F("attempts") + 1)
    )
    return token if taken else None


def _uploads(imp: Import) -> list[tuple[str, Path]]:
    return [(f["name"], Path(f["path"])) for f in imp.files]


def _finish(
    imp: Import, *, status: str, error: str = "", run: RunRecord | None = None, **fields: Any
) -> None:
    # With its run's record in one transaction: a worker dying in between cannot leave the run
    # "running" for an import that nothing will resume.
    with transaction.atomic():
        Import.objects.filter(pk=imp.pk).update(
            status=status,
            error=error,
            claimed_by="",
            claimed_until=None,
            finished_at=timezone.now() if status != Import.Status.READY else None,
            **fields,
        )
        if run is not None:
            run.end(error=error)
    if status != Import.Status.READY:
        import_files_remove(imp)
    imp.refresh_from_db()


def import_files_remove(imp: Import) -> None:
    """Delete the import's uploaded files (files it only points to, e.g. the command's, stay)."""
    for f in imp.files:
        if f.get("owned"):
            Path(f["path"]).unlink(missing_ok=True)
    shutil.rmtree(Path(settings.IMPORT_DIR) / str(imp.public_id), ignore_errors=True)


def import_analyse(*, import_id: int) -> Import | None:
    """Read the files and count what importing them would do, without writing any play."""
    if _claim(import_id, status=Import.Status.ANALYSING, to=Import.Status.ANALYSING) is None:
        return None
    imp = Import.objects.get(pk=import_id)
    try:
        prepared = prepare(_uploads(imp), now=imp.created_at)
    except ExportError as error:
        _finish(imp, status=Import.Status.FAILED, error=str(error))
        return imp
    except Exception:
        # A file no check foresaw: fail this import (the others go on), keep the details in the
        # log rather than retrying the same crash forever.
        log.exception("import %s: reading its files failed", imp.pk)
        _finish(imp, status=Import.Status.FAILED, error="Encore could not read these files.")
        return imp
    # Long queries on a large history: each batch its own transaction with a longer timeout.
    with transaction.atomic(), long_queries():
        ids, aliases = track_ids(prepared.listens, create=False)
    listens, order = prepared.listens, prepared.order
    new = new_counted = already = 0
    for start, stop in batches(listens.arrays().ended[order], 0):
        with transaction.atomic(), long_queries():
            outcome = match_batch(imp.user_id, listens, order[start:stop], ids, aliases)
        new += len(outcome.new)
        new_counted += outcome.new_counted
        already += outcome.already
    report = {
        "files": prepared.files,
        "first": moment_of(listens.ended[order[0]]).isoformat() if len(order) else None,
        "last": moment_of(listens.ended[order[-1]]).isoformat() if len(order) else None,
        "listens": len(listens),
        "new": new,
        "new_counted": new_counted,
        "already": already,
        "repeated": prepared.repeated,
        "not_played": dict(prepared.not_played),
    }
    _finish(imp, status=Import.Status.READY, report=report, rows_total=len(order), attempts=0)
    return imp


def import_confirm(*, imp: Import, queue: bool = True) -> bool:
    """Confirm an analysed import: queued for a worker, or (queue=False) for the caller to run
    with `import_run`. False unless it was waiting for this."""
    confirmed = Import.objects.filter(pk=imp.pk, status=Import.Status.READY).update(
        status=Import.Status.QUEUED
    )
    if confirmed and queue:
        _enqueue(imp, run=True)
    return bool(confirmed)


def import_discard(*, imp: Import) -> bool:
    """Drop an import that has not started; its files are deleted."""
    dropped = Import.objects.filter(
        pk=imp.pk, status__in=[Import.Status.READY, Import.Status.ANALYSING]
    ).update(status=Import.Status.DISCARDED, finished_at=timezone.now())
    if dropped:
        import_files_remove(imp)
    return bool(dropped)


class LostClaim(Exception):
    """Another worker took the job over (this one stalled past its lease)."""


@dataclass
class RunRecord:
    """The JobRun of one worker's run of an import, and the batches this run committed."""

    job: JobRun
    batches: list[ImportBatch] = field(default_factory=list)  # appended to by writer threads

    @classmethod
    def start(cls, imp: Import) -> RunRecord:
        now = timezone.now()
        # We hold the claim now: a run of this import still marked running is a worker's that
        # lost it (it died, or stalled past its lease and fails at its next renewal).
        for lost in JobRun.objects.filter(
            kind=JobRun.Kind.IMPORT,
            status=JobRun.Status.RUNNING,
            details__import=str(imp.public_id),
        ):
            lost.status, lost.finished_at = JobRun.Status.FAILED, now
            lost.details = {**lost.details, "error": "worker lost"}
            lost.save(update_fields=["status", "finished_at", "details"])
        job = JobRun.objects.create(
            kind=JobRun.Kind.IMPORT,
            status=JobRun.Status.RUNNING,
            started_at=now,
            details={"import": str(imp.public_id), "attempt": imp.attempts},
        )
        return cls(job)

    def end(self, *, error: str = "") -> None:
        rows = sum(batch.rows for batch in self.batches)
        imported = sum(batch.added for batch in self.batches)
        self.job.status = JobRun.Status.FAILED if error else JobRun.Status.SUCCEEDED
        self.job.finished_at = timezone.now()
        self.job.details = {
            **self.job.details,
            "rows": rows,
            "imported": imported,
            "skipped": rows - imported,  # already in Encore (some made more precise)
            **({"error": error[:500]} if error else {}),
        }
        self.job.save(update_fields=["status", "finished_at", "details"])


def import_run(*, import_id: int, progress: Progress | None = None) -> Import | None:
    """Import a confirmed job: every batch not committed yet, `settings.IMPORT_WRITERS` at a
    time (each on its own database connection), then the totals. Each run is a JobRun."""
    token = _claim(import_id, status=Import.Status.QUEUED, to=Import.Status.IMPORTING)
    if token is None:
        return None
    imp = Import.objects.get(pk=import_id)
    run = RunRecord.start(imp)
    try:
        return _import_claimed(imp, token, run, progress)
    except LostClaim:
        log.warning("import %s was taken over by another worker", imp.pk)
        run.end(error="another worker took the import over")
        return None
    except Exception as exc:
        run.end(error=f"{type(exc).__name__}: {exc}")
        raise


def _import_claimed(
    imp: Import, token: str, run: RunRecord, progress: Progress | None
) -> Import | None:
    if imp.attempts > MAX_ATTEMPTS:
        # Workers took it up again and again and it never finished: a crash that recurs.
        _finish(
            imp,
            run=run,
            status=Import.Status.FAILED,
            error=f"The import stopped {MAX_ATTEMPTS} times without finishing, after "
            f"{imp.rows_done:,} of {imp.rows_total:,} listens; importing the same files again "
            "adds the rest.",
        )
        return imp
    try:
        prepared = prepare(_uploads(imp), now=imp.created_at)
    except ExportError as error:  # the files changed since they were analysed
        _finish(imp, run=run, status=Import.Status.FAILED, error=str(error))
        return imp
    with transaction.atomic(), long_queries():
        ids, _ = track_ids(prepared.listens, create=True)
    listens, order = prepared.listens, prepared.order
    committed = set(imp.batches.values_list("first_row", flat=True))
    pending = [b for b in batches(listens.arrays().ended[order], 0) if b[0] not in committed]

    def write(batch: tuple[int, int]) -> None:
        written = _import_batch(imp, listens, order, batch, ids)
        if written is not None:
            run.batches.append(written)

    _renew(imp, token)  # reading took a while: keep the job before the first batch
    for _ in _each_done(write, pending):
        rows_done = imp.batches.aggregate(rows=Sum("rows", default=0))["rows"]
        _renew(imp, token, rows_done=rows_done)
        imp.rows_done = rows_done
        if progress is not None:
            progress(imp)
    totals = imp.batches.aggregate(
        added=Sum("added", default=0),
        added_counted=Sum("added_counted", default=0),
        already=Sum("already", default=0),
        refined=Sum("refined", default=0),
    )
    result = {**totals, "repeated": prepared.repeated, "not_played": dict(prepared.not_played)}
    _finish(imp, run=run, status=Import.Status.DONE, result=result, rows_done=len(order))
    # The dashboard catches up in a worker (a minute for a million plays); it says so meanwhile.
    rollups_refresh_later(user_id=imp.user_id)
    return imp


def _each_done(
    write: Callable[[tuple[int, int]], None], pending: list[tuple[int, int]]
) -> Iterator[None]:
    """Write the batches, yielding after each; several at once on PostgreSQL (the database does
    most of the work, and it can use more than one core)."""
    writers = settings.IMPORT_WRITERS if connection.vendor == "postgresql" else 1
    if writers <= 1:
        for batch in pending:
            write(batch)
            yield
        return

    def on_own_connection(batch: tuple[int, int]) -> None:
        try:
            write(batch)
        finally:
            connections.close_all()  # this thread's connections only

    with ThreadPoolExecutor(max_workers=writers) as pool:
        for future in as_completed([pool.submit(on_own_connection, b) for b in pending]):
            future.result()
            yield


def _import_batch(
    imp: Import, listens: Listens, order: np.ndarray, batch: tuple[int, int], ids: np.ndarray
) -> ImportBatch | None:
    """Write one batch; None if another worker already had."""
    first, stop = batch
    rows = order[first:stop]
    for attempt in range(3):
        if ImportBatch.objects.filter(job=imp, first_row=first).exists():
            return None  # written by a worker this one took the job over from
        try:
            with transaction.atomic(), long_queries():
                outcome = match_batch(imp.user_id, listens, rows, ids, {})
                plays_write(user_id=imp.user_id, listens=listens, rows=outcome.new, track_ids=ids)
                plays_refine(user_id=imp.user_id, listens=listens, refine=outcome.refine)
                written = ImportBatch.objects.create(
                    job=imp,
                    first_row=first,
                    rows=len(rows),
                    added=len(outcome.new),
                    added_counted=outcome.new_counted,
                    already=outcome.already - len(outcome.refine),
                    refined=len(outcome.refine),
                )
                counters_add(
                    {
                        (IMPORT_ROWS, ""): len(rows),
                        **{
                            (PLAYS_RECORDED, source): count
                            for source, count in plays_by_source(listens, outcome.new).items()
                        },
                    }
                )
            return written
        except IntegrityError:
            # A poll stored one of these listens between the match and the write: look again.
            if attempt == 2:
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")


def _lease_end() -> datetime:
    """Until when a worker holds a job it claims or renews now."""
    return timezone.now() + timedelta(seconds=settings.IMPORT_LEASE_SECONDS)


def _renew(imp: Import, token: str, **fields: Any) -> None:
    kept = Import.objects.filter(pk=imp.pk, claimed_by=token).update(
        claimed_until=_lease_end(), **fields
    )
    if not kept:
        raise LostClaim


def imports_resume_stalled(*, now: datetime | None = None) -> int:
    """Queue again the jobs whose worker died (or whose message was lost); returns how many."""
    now = now or timezone.now()
    stalled = Import.objects.filter(
        Q(claimed_until__lt=now)
        | Q(
            claimed_until__isnull=True,
            updated_at__lt=now - timedelta(seconds=settings.IMPORT_LEASE_SECONDS),
        ),
        status__in=[Import.Status.ANALYSING, Import.Status.QUEUED, Import.Status.IMPORTING],
    )
    count = 0
    for imp in stalled:
        _enqueue(imp, run=imp.status != Import.Status.ANALYSING)
        count += 1
    return count


def imports_remove_unconfirmed(*, now: datetime | None = None) -> int:
    """Discard analysed imports nobody confirmed within a day (their uploads take space)."""
    now = now or timezone.now()
    count = 0
    for imp in Import.objects.filter(
        status=Import.Status.READY, updated_at__lt=now - timedelta(days=1)
    ):
        count += import_discard(imp=imp)
    return count
