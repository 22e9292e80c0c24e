"""A user's plays written out, oldest first, as text chunks for a `StreamingHttpResponse`: CSV,
Encore's own JSON (what `imports.parsing` reads back) and ListenBrainz listens (JSON Lines).

Plays are read through one database cursor, never all at once, with their artist credits
fetched by one query per FETCH_ROWS plays; memory stays flat however long the history is.
Times come from the database as integer milliseconds (`EpochMs`), rounded exactly as the
importer's duplicate check reads stored plays, so re-importing an export matches every play.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterator
from itertools import islice
from typing import Any, NamedTuple

import msgspec
from django.utils import timezone

from scrobbler.epoch import moment_of
from scrobbler.models import Play, TrackArtist, User
from scrobbler.plays import EpochMs
from scrobbler.sql import long_queries

FETCH_ROWS = 2000  # plays per artist-credit query
YIELD_ROWS = 500  # plays per chunk handed to the response

CSV_HEADER = (
    "ended_at",
    "started_at",
    "ms_played",
    "counted",
    "skipped",
    "source",
    "track_uri",
    "track_name",
    "artists",
    "album_uri",
    "album_name",
)
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

SPOTIFY_TRACK = "spotify:track:"
UNKNOWN_ARTIST = "Unknown Artist"  # as the importer names a blank artist


class PlayRow(NamedTuple):
    started_ms: int
    ended_ms: int
    ms_played: int
    counted: bool
    skipped: bool
    source: str
    track_uri: str
    track_name: str
    duration_ms: int | None
    album_uri: str | None
    album_name: str | None
    artists: list[tuple[str, str]]  # (uri, name) in credit order


def _iso(ms: int) -> str:
    return moment_of(ms).isoformat(timespec="milliseconds")


def _plays(*, user: User, counted_only: bool = False) -> Iterator[list[PlayRow]]:
    """The user's plays by end time, FETCH_ROWS at a time, each with its track's credits."""
    plays = Play.objects.filter(user=user)
    if counted_only:
        plays = plays.filter(counted=True)
    rows = (
        plays.order_by("ended_at", "id")
        .annotate(started_ms=EpochMs("started_at"), ended_ms=EpochMs("ended_at"))
        .values_list(
            "track_id",
            "started_ms",
            "ended_ms",
            "ms_played",
            "counted",
            "skipped",
            "source",
            "track__uri",
            "track__name",
            "track__duration_ms",
            "track__album__uri",
            "track__album__name",
        )
        .iterator(chunk_size=FETCH_ROWS)
    )
    # Outside a transaction PostgreSQL's cursor reads all plays at once, which can outlast the
    # timeout meant for requests on a large history.
    with long_queries():
        while batch := list(islice(rows, FETCH_ROWS)):
            credits = _credits({row[0] for row in batch})
            yield [PlayRow(*row[1:], artists=credits.get(row[0], [])) for row in batch]


def _credits(track_ids: set[int]) -> dict[int, list[tuple[str, str]]]:
    # At most FETCH_ROWS ids, well under any database's limit on query parameters.
    credits: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for track_id, uri, name in (
        TrackArtist.objects.filter(track_id__in=track_ids)
        .order_by("track_id", "position", "id")
        .values_list("track_id", "artist__uri", "artist__name")
    ):
        credits[track_id].append((uri, name))
    return credits


def _chunks(batches: Iterator[list[PlayRow]]) -> Iterator[list[PlayRow]]:
    for batch in batches:
        for start in range(0, len(batch), YIELD_ROWS):
            yield batch[start : start + YIELD_ROWS]


# --- CSV ----------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _flag(value: bool) -> str:
    return "true" if value else "false"


def plays_csv(*, user: User) -> Iterator[str]:
    """A header row, then one row per play. Text cells that a spreadsheet would run as a formula
    get a leading `'` (so a track named `-ziq` is exported as `'-ziq`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    yield buffer.getvalue()
    for chunk in _chunks(_plays(user=user)):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(
            (
                _iso(p.ended_ms),
                _iso(p.started_ms),
                p.ms_played,
                _flag(p.counted),
                _flag(p.skipped),
                p.source,
                _cell(p.track_uri),
                _cell(p.track_name),
                _cell("; ".join(name for _, name in p.artists)),
                _cell(p.album_uri or ""),
                _cell(p.album_name or ""),
            )
            for p in chunk
        )
        yield buffer.getvalue()


# --- Encore JSON --------------------------------------------------------------------------------


def _encore_play(p: PlayRow) -> bytes:
    return msgspec.json.encode(
        {
            "track_uri": p.track_uri,
            "track_name": p.track_name,
            "artists": [{"uri": uri, "name": name} for uri, name in p.artists],
            "album_uri": p.album_uri,
            "album_name": p.album_name,
            "started_at": _iso(p.started_ms),
            "ended_at": _iso(p.ended_ms),
            "ms_played": p.ms_played,
            "counted": p.counted,
            "skipped": p.skipped,
            "source": p.source,
        }
    )


def plays_json(*, user: User) -> Iterator[str]:
    """Encore's export, laid out as `imports.parsing.Reader` reads it, line by line: header
    lines ending in `"plays": [`, one play object per line (a comma ending every play line but
    the last), then `]}` on a line of its own, also when there are no plays."""
    encode = msgspec.json.encode
    yield (
        '{"format": "encore.plays", "version": 1, '
        f'"exported_at": {encode(timezone.now().isoformat(timespec="milliseconds")).decode()}, '
        f'"user": {encode(user.get_username()).decode()},\n'
        '"plays": ['
    )
    separator = b"\n"
    for chunk in _chunks(_plays(user=user)):
        lines = [_encore_play(p) for p in chunk]
        # The comma goes before each play after the first: the last play is not known ahead.
        yield (separator + b",\n".join(lines)).decode()
        separator = b",\n"
    yield "\n]}\n"


# --- ListenBrainz -------------------------------------------------------------------------------


def _listen(p: PlayRow) -> bytes:
    # Keys as in ListenBrainz's JSON documentation (docs/users/json.rst): `listened_at` is when
    # playback started; `duration_ms` is the track's length, not the time played; optional keys
    # are left out when not known rather than sent empty.
    info: dict[str, Any] = {}
    if p.duration_ms is not None:
        info["duration_ms"] = p.duration_ms
    if p.track_uri.startswith(SPOTIFY_TRACK):
        url = "https://open.spotify.com/track/" + p.track_uri.removeprefix(SPOTIFY_TRACK)
        info["spotify_id"] = url
        info["origin_url"] = url
    if p.source != Play.Source.LOCAL:  # the local library is not a streaming service
        info["music_service"] = "spotify.com"
    info["submission_client"] = "Encore"
    metadata: dict[str, Any] = {
        "artist_name": ", ".join(name for _, name in p.artists) or UNKNOWN_ARTIST,
        "track_name": p.track_name,
    }
    if p.album_name:
        metadata["release_name"] = p.album_name
    metadata["additional_info"] = info
    return msgspec.json.encode({"listened_at": p.started_ms // 1000, "track_metadata": metadata})


def listens_listenbrainz(*, user: User) -> Iterator[str]:
    """The user's counted plays as ListenBrainz listens, one JSON object per line."""
    for chunk in _chunks(_plays(user=user, counted_only=True)):
        yield b"".join(_listen(p) + b"\n" for p in chunk).decode()
