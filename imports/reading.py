"""Reading an import's files into listens: each file decoded, listens the export repeats
dropped, the rest ordered by end time."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from imports import files as upload_files
from imports.parsing import SOURCES, ExportError, Format, Listens, Reader, classify, natural_key
from scrobbler.catalog import name_key
from scrobbler.dedupe import match


def _limits() -> upload_files.Limits:
    return upload_files.Limits(
        file_bytes=settings.IMPORT_MAX_FILE_MB * 2**20,
        total_bytes=settings.IMPORT_MAX_TOTAL_MB * 2**20,
        zip_entries=settings.IMPORT_MAX_ZIP_ENTRIES,
        zip_ratio=settings.IMPORT_MAX_ZIP_RATIO,
    )


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
    caps = _limits()
    described: list[dict[str, Any]] = []
    not_played: Counter[str] = Counter()
    members = sorted(upload_files.members(uploads, caps), key=lambda m: natural_key(m.name))
    for member in members:
        kind = classify(member.name, member.head())
        if kind is None:
            described.append({"name": member.name, "ignored": "not listening history"})
        elif not isinstance(kind, Format):
            described.append({"name": member.name, "ignored": kind})
            not_played[kind] += 1
        elif kind is Format.ENCORE:
            with member.open() as stream:
                described.append(reader.read(member.name, kind, stream).as_dict())
        else:
            described.append(reader.read(member.name, kind, member.read(caps.file_bytes)).as_dict())
    if not reader.reports:
        name = uploads[0][0] if len(uploads) == 1 else "the upload"
        raise ExportError("no Spotify streaming history or Encore export in it", file=name)
    for report in reader.reports:
        not_played.update(report.not_played)
    listens = reader.listens
    _merge_formats(listens)
    order, repeated = _without_repeats(listens)
    return Prepared(listens, described, order, repeated, not_played)


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
        mapping = np.arange(len(listens.tracks))
        mapping[list(alias)] = list(alias.values())
        track = listens.arrays().track
        track[:] = mapping[track]


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
        shared = kept[np.isin(columns.track[kept], columns.track[kept[is_account]])]
        both = listens.listen_rows(shared, columns.track[shared])
        twins = match(
            [b for b in both if b[2] == "account"], [b for b in both if b[2] != "account"]
        )
        kept = kept[~np.isin(kept, list(twins))]
        repeated += len(twins)
    return kept, repeated
