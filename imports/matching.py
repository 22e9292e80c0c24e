"""Matching an import's listens with the catalog (ids in bulk) and with the plays already stored
(`scrobbler.dedupe`), one batch at a time in time order."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from django.conf import settings

from imports.parsing import COUNTED, SKIPPED, Listens
from scrobbler.catalog import catalog_upsert, ids_by_uri, local_aliases, rows_where_in
from scrobbler.dedupe import MAX_WINDOW_MS, ListenRow, match
from scrobbler.epoch import moment_of
from scrobbler.models import Play, Track
from scrobbler.plays import stored_listens
from scrobbler.rollups import rollups_mark


def track_ids(listens: Listens, *, create: bool) -> tuple[np.ndarray, dict[int, int]]:
    """Catalog ids by the listens' track index (when only analysing, negative placeholders for
    tracks not stored yet), and {stored local track id: id it is merged into} when analysing
    (importing merges them for real)."""
    used = set(np.unique(listens.arrays().track).tolist())
    entries = listens.tracks
    known_spotify = _spotify_by_name_key([e.uri for e in entries if e.uri.startswith("local:")])
    missing = [e for i, e in enumerate(entries) if i in used and e.uri not in known_spotify]
    if create:
        ids = ids_by_uri(Track, [e.uri for e in missing])
        ids.update(catalog_upsert([e for e in missing if e.uri not in ids], refresh=False))
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


def batches(ended: np.ndarray, start: int) -> Iterator[tuple[int, int]]:
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
    new_counted: int  # of those, the ones heard long enough to count
    refine: list[tuple[int, int]]  # (stored play pk, row) where the row is more precise
    already: int


def match_batch(
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
        return BatchOutcome(rows, _counted(listens, rows), refine=[], already=0)
    reported_tracks, reported_ends = ids[columns.track[rows]], columns.ended[rows]
    exact_stored, exact_rows = _exact_twins(stored, reported_tracks, reported_ends)
    pairs = dict(zip(rows[exact_rows].tolist(), (stored[i][3] for i in exact_stored), strict=True))
    # What is left is matched by time windows (live plays, Account Data): usually little.
    left = np.ones(len(rows), dtype=bool)
    left[exact_rows] = False
    unmatched = set(range(len(stored))) - set(exact_stored.tolist())
    if left.any() and unmatched:
        reported = listens.listen_rows(rows[left], reported_tracks[left])
        pairs.update(match(reported, [stored[i] for i in sorted(unmatched)]))
    stored_source = {s[3]: s[2] for s in stored}
    refine = [
        (pk, row)
        for row, pk in pairs.items()
        if stored_source[pk] == "account" and listens.source(row) != "account"
    ]
    new = rows[~np.isin(rows, list(pairs))] if pairs else rows
    return BatchOutcome(new, _counted(listens, new), refine, len(pairs))


def _counted(listens: Listens, rows: np.ndarray) -> int:
    return int(np.count_nonzero(listens.arrays().flags[rows] & COUNTED))


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


def plays_refine(*, user_id: int, listens: Listens, refine: list[tuple[int, int]]) -> None:
    """Give stored Account Data plays the exact times a more precise export has for them."""
    if not refine:
        return
    # The stored times were within the matching window of the new ones.
    ends = [int(listens.ended[r]) for _, r in refine]
    margin = timedelta(milliseconds=MAX_WINDOW_MS)
    rollups_mark(
        user_id=user_id, since=moment_of(min(ends)) - margin, until=moment_of(max(ends)) + margin
    )
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
