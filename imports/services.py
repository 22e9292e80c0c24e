"""Importing listening history: analyse (what would happen), then import (make it happen).

Both read every file afresh (a million plays parse in a few seconds), drop listens the export
repeats, resolve catalog ids in bulk, then walk the listens in time order in batches, each
matched against the user's stored plays around it (`scrobbler.dedupe`) and, when importing,
written in one transaction together with the job's counts. A job picked up again after a crash
re-reads the files and continues after the last committed batch: the same result as a run that
was never interrupted.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from imports import files as upload_files
from imports.models import Import, ImportBatch
from imports.parsing import (
    COUNTED,
    SKIPPED,
    SOURCES,
    ExportError,
    Format,
    Listens,
    Reader,
    classify,
    moment_of,
    natural_key,
)
from imports.writes import plays_write
from scrobbler.catalog import catalog_upsert, ids_by_uri, local_aliases, name_key, rows_where_in
from scrobbler.dedupe import ListenRow, match
from scrobbler.models import Play, Track, User
from scrobbler.plays import stored_listens

log = logging.getLogger(__name__)

Progress = Callable[[Import], None]


def limits() -> upload_files.Limits:
    return upload_files.Limits(
        file_bytes=settings.IMPORT_MAX_FILE_MB * 2**20,
        total_bytes=settings.IMPORT_MAX_TOTAL_MB * 2**20,
        zip_entries=settings.IMPORT_MAX_ZIP_ENTRIES,
        zip_ratio=settings.IMPORT_MAX_ZIP_RATIO,
    )


# --- Reading ---------------------------------------------------------------------------------


@dataclass
class Prepared:
    listens: Listens
    files: list[dict[str, Any]]
    order: np.ndarray  # rows to match and store, by end time
    repeated: int  # listens the export holds twice
    not_played: Counter[str] = field(default_factory=Counter)


def prepare(uploads: list[tuple[str, Path]], *, now: datetime) -> Prepared:
    """Read the uploads; raises ExportError naming the file and record for anything unreadable."""
    reader = Reader(play_min_ms=settings.PLAY_MIN_MS, now=now)
    caps = limits()
    described: list[dict[str, Any]] = []
    not_played: Counter[str] = Counter()
    members = sorted(upload_files.members(uploads, caps), key=lambda m: natural_key(m.name))
    kinds = [(member, classify(member.name, member.head())) for member in members]
    whole = [m for m, kind in kinds if kind in (Format.EXTENDED, Format.ACCOUNT)]
    contents = _read_ahead(whole, caps.file_bytes)
    for member, kind in kinds:
        if kind is None:
            described.append({"name": member.name, "ignored": "not listening history"})
        elif not isinstance(kind, Format):
            described.append({"name": member.name, "ignored": kind})
            not_played[kind] += 1
        elif kind is Format.ENCORE:
            with member.open() as stream:
                described.append(reader.read(member.name, kind, stream).as_dict())
        else:
            described.append(reader.read(member.name, kind, next(contents)).as_dict())
    if not reader.reports:
        name = uploads[0][0] if len(uploads) == 1 else "the upload"
        raise ExportError("no Spotify streaming history or Encore export in it", file=name)
    for report in reader.reports:
        not_played.update(report.not_played)
    listens = reader.listens
    _merge_formats(listens)
    order, repeated = _without_repeats(listens)
    return Prepared(listens, described, order, repeated, not_played)


def _read_ahead(members: list[upload_files.Member], limit: int) -> Iterator[bytes]:
    """The members' bytes in order, the next one read (decompressed: zlib lets other threads
    run) while the current one is decoded."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        ahead = pool.submit(members[0].read, limit) if members else None
        for following in [*members[1:], None]:
            assert ahead is not None
            current = ahead.result()
            ahead = pool.submit(following.read, limit) if following is not None else None
            yield current


def _merge_formats(listens: Listens) -> None:
    """Account Data tracks have no URI; when the same import holds the Spotify track (by first
    artist and title), its listens are that track's."""
    if not any(t.uri.startswith("local:") for t in listens.tracks):
        return
    by_key = {
        name_key(t): i for i, t in enumerate(listens.tracks) if not t.uri.startswith("local:")
    }
    alias = {i: by_key[t.uri] for i, t in enumerate(listens.tracks) if t.uri in by_key}
    if alias:
        track = listens.arrays().track
        for local, real in alias.items():
            track[track == local] = real


def _without_repeats(listens: Listens) -> tuple[np.ndarray, int]:
    """Rows by end time, without listens the export repeats: the same track ending at the same
    moment is one listen (the fuller report kept), and an Account Data listen that the Extended
    Streaming History in the same import also has is that one."""
    columns = listens.arrays()
    # By end, then track, then most heard first: a repeat is a row like the one before it.
    order = np.lexsort((-columns.ms_played, columns.track, columns.ended))
    ended, track = columns.ended[order], columns.track[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (ended[1:] != ended[:-1]) | (track[1:] != track[:-1])
    kept = order[first]
    repeated = len(order) - len(kept)
    is_account = (columns.flags[kept] >> 2) == SOURCES.index("account")
    if is_account.any() and not is_account.all():
        tracks = set(columns.track[kept[is_account]].tolist())
        both = [
            (t, e, SOURCES[f >> 2], r)
            for t, e, f, r in zip(
                columns.track[kept].tolist(),
                columns.ended[kept].tolist(),
                columns.flags[kept].tolist(),
                kept.tolist(),
                strict=True,
            )
            if t in tracks
        ]
        twins = match(
            [b for b in both if b[2] == "account"], [b for b in both if b[2] != "account"]
        )
        kept = kept[~np.isin(kept, list(twins))]
        repeated += len(twins)
    return kept, repeated


# --- Catalog ----------------------------------------------------------------------------------


def _track_ids(listens: Listens, *, create: bool) -> tuple[np.ndarray, dict[int, int]]:
    """Catalog ids by the listens' track index (when only analysing, negative placeholders for
    tracks not stored yet), and {stored local track id: id it is merged into} when analysing
    (importing merges them for real)."""
    used = set(np.unique(listens.arrays().track).tolist())
    entries = listens.tracks
    known_spotify = _spotify_by_name_key([e.uri for e in entries if e.uri.startswith("local:")])
    missing = [e for i, e in enumerate(entries) if i in used and e.uri not in known_spotify]
    if create:
        ids = catalog_upsert(missing, refresh=False)
        ids.update({e.uri: 0 for i, e in enumerate(entries) if i not in used})
        aliases: dict[int, int] = {}
    else:
        ids = ids_by_uri(Track, [e.uri for e in missing])
        placeholders = {e.uri: -1 - i for i, e in enumerate(entries) if e.uri not in ids}
        ids.update(placeholders)
        aliases = local_aliases(entries, ids)
    ids.update(known_spotify)
    return np.array([ids[e.uri] for e in entries], dtype=np.int64), aliases


def _spotify_by_name_key(keys: list[str]) -> dict[str, int]:
    """Spotify tracks already stored under these name keys (the oldest one, if several)."""
    found: dict[str, int] = {}
    for key, pk, uri in sorted(rows_where_in(Track, "name_key", keys, "name_key", "id", "uri")):
        if not uri.startswith("local:"):
            found.setdefault(key, pk)
    return found


# --- Matching and writing ---------------------------------------------------------------------


def _batches(ended: np.ndarray, start: int) -> Iterator[tuple[int, int]]:
    """[start, stop) slices of about IMPORT_BATCH_ROWS of the listens' end times (sorted);
    listens ending at the same moment stay in one batch."""
    while start < len(ended):
        stop = min(start + settings.IMPORT_BATCH_ROWS, len(ended))
        while stop < len(ended) and ended[stop] == ended[stop - 1]:
            stop += 1
        yield start, stop
        start = stop


@dataclass
class BatchOutcome:
    new: np.ndarray  # rows not stored yet
    refine: list[tuple[int, int]]  # (stored play pk, row) where the row is more precise
    already: int


def _match_batch(
    user_id: int, listens: Listens, rows: np.ndarray, ids: np.ndarray, aliases: dict[int, int]
) -> BatchOutcome:
    columns = listens.arrays()
    stored = stored_listens(
        user_id=user_id,
        first_ms=int(columns.ended[rows[0]]),
        last_ms=int(columns.ended[rows[-1]]),
        aliases=aliases,
    )
    if not stored:
        return BatchOutcome(new=rows, refine=[], already=0)
    reported_tracks, reported_ends = ids[columns.track[rows]], columns.ended[rows]
    exact_stored, exact_rows = _exact_twins(stored, reported_tracks, reported_ends)
    pairs = dict(zip(rows[exact_rows].tolist(), (stored[i][3] for i in exact_stored), strict=True))
    # What is left is matched by time windows (live plays, Account Data): usually little.
    left = np.ones(len(rows), dtype=bool)
    left[exact_rows] = False
    unmatched = set(range(len(stored))) - set(exact_stored.tolist())
    if left.any() and unmatched:
        reported = [
            (t, e, SOURCES[f >> 2], r)
            for t, e, f, r in zip(
                reported_tracks[left].tolist(),
                reported_ends[left].tolist(),
                columns.flags[rows[left]].tolist(),
                rows[left].tolist(),
                strict=True,
            )
        ]
        pairs.update(match(reported, [stored[i] for i in sorted(unmatched)]))
    stored_source = {s[3]: s[2] for s in stored}
    refine = [
        (pk, row)
        for row, pk in pairs.items()
        if stored_source[pk] == "account" and listens.source(row) != "account"
    ]
    new = rows[~np.isin(rows, list(pairs))] if pairs else rows
    return BatchOutcome(new, refine, len(pairs))


def _exact_twins(
    stored: list[ListenRow], tracks: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(indexes into `stored`, indexes into the reported arrays) of listens stored with exactly
    the same track and end: sorted together, a twin sits right after its stored listen. Neither
    side holds one (track, end) twice (a unique constraint; repeats dropped when reading)."""
    track = np.concatenate([np.fromiter((s[0] for s in stored), np.int64, len(stored)), tracks])
    ended = np.concatenate([np.fromiter((s[1] for s in stored), np.int64, len(stored)), ends])
    reported = np.arange(len(track)) >= len(stored)
    order = np.lexsort((reported, ended, track))
    before, after = order[:-1], order[1:]
    twins = (
        (track[before] == track[after])
        & (ended[before] == ended[after])
        & ~reported[before]
        & reported[after]
    )
    return before[twins], after[twins] - len(stored)


def _refine(listens: Listens, refine: list[tuple[int, int]]) -> None:
    """Give stored Account Data plays the exact times a more precise export has for them."""
    Play.objects.bulk_update(
        [
            Play(
                pk=pk,
                started_at=moment_of(listens.started[r]),
                ended_at=moment_of(listens.ended[r]),
                ms_played=listens.ms_played[r],
                source=listens.source(r),
                counted=bool(listens.flags[r] & COUNTED),
                skipped=bool(listens.flags[r] & SKIPPED),
            )
            for pk, r in refine
        ],
        ["started_at", "ended_at", "ms_played", "source", "counted", "skipped"],
        batch_size=2_000,
    )


# --- Jobs -------------------------------------------------------------------------------------


def import_create(*, user: User, uploads: list[UploadedFile]) -> Import:
    """Keep the uploaded files for the job (analysed by a worker next)."""
    imp = Import(user=user, name=", ".join(u.name or "upload" for u in uploads)[:300])
    folder = Path(settings.IMPORT_DIR) / str(imp.public_id)
    folder.mkdir(parents=True, exist_ok=False)
    stored = []
    for number, upload in enumerate(uploads):
        path = folder / f"{number}.upload"
        with path.open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        stored.append(
            {"name": upload.name or f"upload {number + 1}", "path": str(path), "owned": True}
        )
    imp.files = stored
    imp.save()
    _enqueue("imports.analyse", imp)
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


def _enqueue(task_name: str, imp: Import) -> None:
    from imports import tasks  # the tasks module imports this one

    task = {"imports.analyse": tasks.import_analyse, "imports.run": tasks.import_run}[task_name]
    transaction.on_commit(lambda: task.delay(imp.pk))


def _claim(import_id: int, *, status: str, to: str) -> str | None:
    """Take the job if it is in `status` and nobody holds it; returns the holder's token."""
    token = uuid.uuid4().hex
    now = timezone.now()
    taken = (
        Import.objects.filter(pk=import_id, status__in=[status, to])
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(status=to, claimed_by=token, claimed_until=_lease_end())
    )
    return token if taken else None


def _uploads(imp: Import) -> list[tuple[str, Path]]:
    return [(f["name"], Path(f["path"])) for f in imp.files]


def _finish(imp: Import, *, status: str, error: str = "", **fields: Any) -> None:
    Import.objects.filter(pk=imp.pk).update(
        status=status,
        error=error,
        claimed_by="",
        claimed_until=None,
        finished_at=timezone.now() if status != Import.Status.READY else None,
        **fields,
    )
    if status != Import.Status.READY:
        _remove_files(imp)
    imp.refresh_from_db()


def _remove_files(imp: Import) -> None:
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
    ids, aliases = _track_ids(prepared.listens, create=False)
    listens, order = prepared.listens, prepared.order
    new = new_counted = already = 0
    flags = listens.arrays().flags
    for start, stop in _batches(listens.arrays().ended[order], 0):
        outcome = _match_batch(imp.user_id, listens, order[start:stop], ids, aliases)
        new += len(outcome.new)
        new_counted += int(np.count_nonzero(flags[outcome.new] & COUNTED))
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
    _finish(imp, status=Import.Status.READY, report=report, rows_total=len(order))
    return imp


def import_confirm(*, imp: Import, queue: bool = True) -> bool:
    """Confirm an analysed import: queued for a worker, or (queue=False) for the caller to run
    with `import_run`. False unless it was waiting for this."""
    confirmed = Import.objects.filter(pk=imp.pk, status=Import.Status.READY).update(
        status=Import.Status.QUEUED
    )
    if confirmed and queue:
        _enqueue("imports.run", imp)
    return bool(confirmed)


def import_discard(*, imp: Import) -> bool:
    """Drop an import that has not started; its files are deleted."""
    dropped = Import.objects.filter(
        pk=imp.pk, status__in=[Import.Status.READY, Import.Status.ANALYSING]
    ).update(status=Import.Status.DISCARDED, finished_at=timezone.now())
    if dropped:
        _remove_files(imp)
    return bool(dropped)


class LostClaim(Exception):
    """Another worker took the job over (this one stalled past its lease)."""


def import_run(*, import_id: int, progress: Progress | None = None) -> Import | None:
    """Import a confirmed job: every batch not committed yet, `settings.IMPORT_WRITERS` at a
    time (each on its own database connection), then the totals."""
    token = _claim(import_id, status=Import.Status.QUEUED, to=Import.Status.IMPORTING)
    if token is None:
        return None
    imp = Import.objects.get(pk=import_id)
    try:
        prepared = prepare(_uploads(imp), now=imp.created_at)
    except ExportError as error:  # the files changed since they were analysed
        _finish(imp, status=Import.Status.FAILED, error=str(error))
        return imp
    with transaction.atomic():
        ids, _ = _track_ids(prepared.listens, create=True)
    listens, order = prepared.listens, prepared.order
    committed = set(imp.batches.values_list("first_row", flat=True))
    pending = [b for b in _batches(listens.arrays().ended[order], 0) if b[0] not in committed]

    def write(batch: tuple[int, int]) -> None:
        _import_batch(imp, listens, order, batch, ids)

    try:
        _renew(imp, token)  # reading took a while: keep the job before the first batch
        for _ in _each_done(write, pending):
            rows_done = imp.batches.aggregate(rows=Sum("rows", default=0))["rows"]
            _renew(imp, token, rows_done=rows_done)
            imp.rows_done = rows_done
            if progress is not None:
                progress(imp)
    except LostClaim:
        log.warning("import %s was taken over by another worker", imp.pk)
        return None
    totals = imp.batches.aggregate(
        added=Sum("added", default=0),
        added_counted=Sum("added_counted", default=0),
        already=Sum("already", default=0),
        refined=Sum("refined", default=0),
    )
    result = {**totals, "repeated": prepared.repeated, "not_played": dict(prepared.not_played)}
    _finish(imp, status=Import.Status.DONE, result=result, rows_done=len(order))
    return imp


def _each_done(
    write: Callable[[tuple[int, int]], None], batches: list[tuple[int, int]]
) -> Iterator[None]:
    """Write the batches, yielding after each; several at once on PostgreSQL (the database does
    most of the work, and it can use more than one core)."""
    writers = settings.IMPORT_WRITERS if connection.vendor == "postgresql" else 1
    if writers <= 1:
        for batch in batches:
            write(batch)
            yield
        return

    def on_own_connection(batch: tuple[int, int]) -> None:
        try:
            write(batch)
        finally:
            connections.close_all()  # this thread's connections only

    with ThreadPoolExecutor(max_workers=writers) as pool:
        for future in as_completed([pool.submit(on_own_connection, b) for b in batches]):
            future.result()
            yield


def _import_batch(
    imp: Import, listens: Listens, order: np.ndarray, batch: tuple[int, int], ids: np.ndarray
) -> None:
    first, stop = batch
    rows = order[first:stop]
    for attempt in range(3):
        if ImportBatch.objects.filter(job=imp, first_row=first).exists():
            return  # written by a worker this one took the job over from
        try:
            with transaction.atomic():
                outcome = _match_batch(imp.user_id, listens, rows, ids, {})
                plays_write(user_id=imp.user_id, listens=listens, rows=outcome.new, track_ids=ids)
                if outcome.refine:
                    _refine(listens, outcome.refine)
                ImportBatch.objects.create(
                    job=imp,
                    first_row=first,
                    rows=len(rows),
                    added=len(outcome.new),
                    added_counted=int(
                        np.count_nonzero(listens.arrays().flags[outcome.new] & COUNTED)
                    ),
                    already=outcome.already - len(outcome.refine),
                    refined=len(outcome.refine),
                )
            return
        except IntegrityError:
            # A poll stored one of these listens between the match and the write: look again.
            if attempt == 2:
                raise


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
        _enqueue("imports.analyse" if imp.status == Import.Status.ANALYSING else "imports.run", imp)
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
