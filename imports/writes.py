"""Writing a batch of new plays in bulk: PostgreSQL's binary COPY built by numpy (no Python loop
per row), batched inserts on SQLite."""

from __future__ import annotations

import struct

import numpy as np
from django.db import connection

from imports.parsing import COUNTED, SKIPPED, SOURCES, Listens
from scrobbler.epoch import moment_of
from scrobbler.models import Play
from scrobbler.rollups import rollups_mark

PG_EPOCH_MS = 946_684_800_000  # PostgreSQL counts time from 2000-01-01 UTC, in microseconds
COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)  # no flags, no extension
COPY_TRAILER = struct.pack(">h", -1)
COLUMNS = (
    "user_id",
    "track_id",
    "started_at",
    "ended_at",
    "ms_played",
    "source",
    "counted",
    "skipped",
)


def plays_write(*, user_id: int, listens: Listens, rows: np.ndarray, track_ids: np.ndarray) -> None:
    """Store the listens at `rows` as the user's plays; `track_ids` maps listens' track indexes
    to catalog ids."""
    if not len(rows):
        return
    ended = listens.arrays().ended[rows]
    rollups_mark(
        user_id=user_id, since=moment_of(int(ended.min())), until=moment_of(int(ended.max()))
    )
    if connection.vendor == "postgresql":
        _copy(user_id, listens, rows, track_ids)
    else:
        _insert(user_id, listens, rows, track_ids)


def plays_by_source(listens: Listens, rows: np.ndarray) -> dict[str, int]:
    """How many of the listens at `rows` are of each play source."""
    codes = np.bincount(listens.arrays().flags[rows] >> 2, minlength=len(SOURCES))
    return {source: int(count) for source, count in zip(SOURCES, codes, strict=False) if count}


def _copy(user_id: int, listens: Listens, rows: np.ndarray, track_ids: np.ndarray) -> None:
    columns = listens.arrays()
    flags = columns.flags[rows]
    blocks = []
    for code, source in enumerate(SOURCES):
        chosen = rows[(flags >> 2) == code]
        if not len(chosen):
            continue
        chosen_flags = columns.flags[chosen]
        blocks.append(
            copy_block(
                user_id=user_id,
                source=source,
                track=track_ids[columns.track[chosen]],
                started=columns.started[chosen],
                ended=columns.ended[chosen],
                ms_played=columns.ms_played[chosen],
                counted=(chosen_flags & COUNTED) != 0,
                skipped=(chosen_flags & SKIPPED) != 0,
            )
        )
    # Losing the last batches' commits in a crash is harmless: the job's batch rows go with
    # them, and the job continues from what was kept.
    copy_write(blocks)


def copy_block(
    *,
    user_id: int,
    source: str,
    track: np.ndarray,
    started: np.ndarray,
    ended: np.ndarray,
    ms_played: np.ndarray,
    counted: np.ndarray,
    skipped: np.ndarray,
) -> bytes:
    """Plays of one source as rows of PostgreSQL's binary COPY (arrays of one value per play;
    times in epoch ms)."""
    name = source.encode()
    record = np.empty(len(track), _record_type(len(name)))
    for field, size in (("user", 8), ("track", 8), ("started", 8), ("ended", 8), ("ms", 4), ("source", len(name)), ("counted", 1), ("skipped", 1)):  # fmt: skip
        record[f"{field}_size"] = size
    record["fields"] = len(COLUMNS)
    record["user"] = user_id
    record["track"] = track
    record["started"] = (started - PG_EPOCH_MS) * 1000
    record["ended"] = (ended - PG_EPOCH_MS) * 1000
    record["ms"] = ms_played
    record["source"] = name
    record["counted"] = counted
    record["skipped"] = skipped
    return record.tobytes()


def copy_write(blocks: list[bytes]) -> None:
    """COPY the blocks into the plays table, in the current transaction (whose commit need not
    wait for the disk)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        statement = f"COPY {Play._meta.db_table} ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)"
        with cursor.cursor.copy(statement) as copy:
            copy.write(COPY_SIGNATURE)
            for block in blocks:
                copy.write(block)
            copy.write(COPY_TRAILER)


def _record_type(source_size: int) -> np.dtype:
    """One row of PostgreSQL's binary COPY format: a field count, then each field's byte size
    and its big-endian value."""
    return np.dtype(
        [
            ("fields", ">i2"),
            ("user_size", ">i4"), ("user", ">i8"),
            ("track_size", ">i4"), ("track", ">i8"),
            ("started_size", ">i4"), ("started", ">i8"),
            ("ended_size", ">i4"), ("ended", ">i8"),
            ("ms_size", ">i4"), ("ms", ">i4"),
            ("source_size", ">i4"), ("source", f"S{source_size}"),
            ("counted_size", ">i4"), ("counted", "u1"),
            ("skipped_size", ">i4"), ("skipped", "u1"),
        ]
    )  # fmt: skip


def _insert(user_id: int, listens: Listens, rows: np.ndarray, track_ids: np.ndarray) -> None:
    """SQLite: one prepared INSERT run for every row; times written exactly as Django writes
    them (bulk_create's model instances took three times as long)."""
    columns = listens.arrays()
    adapt = connection.ops.adapt_datetimefield_value
    values = [
        (
            user_id,
            track,
            adapt(moment_of(started)),
            adapt(moment_of(ended)),
            ms,
            SOURCES[flags >> 2],
            bool(flags & COUNTED),
            bool(flags & SKIPPED),
        )
        for track, started, ended, ms, flags in zip(
            track_ids[columns.track[rows]].tolist(),
            columns.started[rows].tolist(),
            columns.ended[rows].tolist(),
            columns.ms_played[rows].tolist(),
            columns.flags[rows].tolist(),
            strict=True,
        )
    ]
    # Our own table and column names; the values are parameters.
    statement = (
        f"INSERT INTO {Play._meta.db_table} ({', '.join(COLUMNS)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(COLUMNS))})"
    )
    with connection.cursor() as cursor:
        cursor.executemany(statement, values)
