"""Spotify's export files and Encore's own export, read into listens (pure; no Django, no I/O
beyond the byte streams handed in).

Each file is decoded whole by msgspec into typed records under a per-file size cap (Spotify cuts
its files at about 12 MB; msgspec decodes ~400k records/s, four times ijson's streaming rate).
Encore's own export can be larger, so it is read one play per line. Listens are kept as columns
(`Listens`), a few dozen bytes each, so a million of them fit in well under 100 MB.
"""

from __future__ import annotations

import re
from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import IO, Annotated, Literal, NamedTuple

import msgspec
import numpy as np

from scrobbler.catalog import CatalogEntry, TrackEntry, local_uri
from scrobbler.dedupe import ListenRow
from scrobbler.epoch import moment_of, ms_of

MAX_MS_PLAYED = 2**31 - 1  # what the plays table stores
EARLIEST = datetime(2006, 1, 1, tzinfo=UTC)  # Spotify was founded in 2006

# Reasons a record is not a play, as reported to the user.
PODCAST = "podcast episode"
AUDIOBOOK = "audiobook"
NO_TRACK = "no track metadata"


class Format(StrEnum):
    EXTENDED = "Extended Streaming History"
    ACCOUNT = "Account Data streaming history"
    ENCORE = "Encore export"


class ExportError(Exception):
    """A file that cannot be imported; the message names the file and, where known, the record."""

    def __init__(self, message: str, *, file: str, record: int | None = None) -> None:
        self.file, self.record, self.reason = file, record, message
        where = f"{file}, record {record}" if record is not None else file
        super().__init__(f"{where}: {message}")


# --- Which file is which --------------------------------------------------------------------

_EXTENDED_NAME = re.compile(r"(endsong_\d+|streaming_history_audio_[\d_-]+)\.json", re.IGNORECASE)
_ACCOUNT_NAME = re.compile(r"streaminghistory(_music_)?\d*\.json", re.IGNORECASE)
_NOT_MUSIC_NAMES = (
    (re.compile(r"streaming_?history_video.*\.json", re.IGNORECASE), "video history (not music)"),
    (re.compile(r"streaming_?history_podcast.*\.json", re.IGNORECASE), "podcast history"),
    (re.compile(r"streaming_?history_audiobook.*\.json", re.IGNORECASE), "audiobook history"),
)


def base_name(name: str) -> str:
    return re.split(r"[\\/]", name)[-1]


def natural_key(name: str) -> list[str | int]:
    """`endsong_10.json` after `endsong_9.json`: Spotify's numbering sorts wrongly as text."""
    return [int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", name)]


def classify(name: str, head: bytes) -> Format | str | None:
    """What a file is, from its name and first bytes: a format to read, a reason it is skipped
    (non-music history), or None for a file that is not listening history at all."""
    base = base_name(name)
    for pattern, reason in _NOT_MUSIC_NAMES:
        if pattern.fullmatch(base):
            return reason
    if _EXTENDED_NAME.fullmatch(base):
        return Format.EXTENDED
    if _ACCOUNT_NAME.fullmatch(base):
        return Format.ACCOUNT
    start = head.lstrip()[:1]
    if start == b"{" and b'"encore.plays"' in head:
        return Format.ENCORE
    if start == b"[":
        if b'"ms_played"' in head and b'"ts"' in head:
            return Format.EXTENDED
        if b'"msPlayed"' in head and b'"endTime"' in head:
            return Format.ACCOUNT
    return None


# --- Records as Spotify writes them ---------------------------------------------------------

Name = Annotated[str, msgspec.Meta(max_length=2000)]
MsPlayed = Annotated[int, msgspec.Meta(ge=0, le=MAX_MS_PLAYED)]
TrackUri = Annotated[str, msgspec.Meta(pattern=r"^spotify:track:[0-9A-Za-z]{1,40}$")]


class ExtendedRecord(msgspec.Struct):
    """One stream in Extended Streaming History. Both key variants (`ip_addr_decrypted`,
    `username`, … in endsong files; `ip_addr` in newer ones) carry personal data Encore does not
    keep, so those fields are not even decoded."""

    ts: datetime
    ms_played: MsPlayed
    master_metadata_track_name: Name | None = None
    master_metadata_album_artist_name: Name | None = None
    master_metadata_album_album_name: Name | None = None
    spotify_track_uri: TrackUri | None = None
    spotify_episode_uri: Name | None = None
    episode_name: Name | None = None
    audiobook_uri: Name | None = None
    audiobook_chapter_uri: Name | None = None
    audiobook_title: Name | None = None
    reason_end: Name | None = None
    skipped: bool | None = None


class AccountRecord(msgspec.Struct):
    endTime: Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d\d-\d\d \d\d:\d\d$")]
    artistName: Name
    trackName: Name
    msPlayed: MsPlayed


class EncoreArtist(msgspec.Struct):
    uri: Name
    name: Name


class EncorePlay(msgspec.Struct):
    track_uri: Name
    track_name: Name
    artists: list[EncoreArtist]
    album_uri: Name | None
    album_name: Name | None
    started_at: datetime
    ended_at: datetime
    ms_played: MsPlayed
    counted: bool
    skipped: bool
    source: Literal["live", "history", "import", "account", "local"]


class EncoreHeader(msgspec.Struct):
    format: Literal["encore.plays"]
    version: Literal[1]


_extended = msgspec.json.Decoder(list[ExtendedRecord])
_account = msgspec.json.Decoder(list[AccountRecord])
_encore_play = msgspec.json.Decoder(EncorePlay)
_encore_header = msgspec.json.Decoder(EncoreHeader)

# `reason_end` values that mean the listener moved on before the track ended.
SKIP_REASONS = frozenset({"fwdbtn", "backbtn", "clickrow", "endplay"})


# --- Listens as columns ---------------------------------------------------------------------

SOURCES = ("import", "account", "live", "history", "local")
COUNTED, SKIPPED = 1, 2


@dataclass
class FileReport:
    name: str
    format: str
    records: int = 0
    listens: int = 0
    first_ms: int | None = None
    last_ms: int | None = None
    not_played: Counter[str] = field(default_factory=Counter)  # reason → records

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "format": self.format,
            "records": self.records,
            "listens": self.listens,
            "first": moment_of(self.first_ms).isoformat() if self.first_ms is not None else None,
            "last": moment_of(self.last_ms).isoformat() if self.last_ms is not None else None,
            "not_played": dict(self.not_played),
        }


class ListenArrays(NamedTuple):
    track: np.ndarray
    ended: np.ndarray
    started: np.ndarray
    ms_played: np.ndarray
    flags: np.ndarray


class Listens:
    """Listens read from one import, as columns; row i is one listen."""

    def __init__(self) -> None:
        self.tracks: list[TrackEntry] = []
        self._track_index: dict[str, int] = {}
        self.track = array("q")
        self.ended = array("q")
        self.started = array("q")
        self.ms_played = array("q")
        self.flags = bytearray()  # COUNTED | SKIPPED | source index << 2
        self._minute_seen: Counter[tuple[int, int]] = Counter()

    def __len__(self) -> int:
        return len(self.ended)

    def arrays(self) -> ListenArrays:
        """The columns as numpy arrays (views: no copy; the columns cannot grow while viewed)."""
        return ListenArrays(
            np.frombuffer(self.track, dtype=np.int64),
            np.frombuffer(self.ended, dtype=np.int64),
            np.frombuffer(self.started, dtype=np.int64),
            np.frombuffer(self.ms_played, dtype=np.int64),
            np.frombuffer(self.flags, dtype=np.uint8),
        )

    def listen_rows(self, rows: np.ndarray, tracks: np.ndarray) -> list[ListenRow]:
        """The listens at `rows` as `scrobbler.dedupe` matches them: (track, end, source, row),
        with `tracks` the track of each of those rows (catalog ids or the import's own)."""
        columns = self.arrays()
        return [
            (track, ended, SOURCES[flags >> 2], row)
            for track, ended, flags, row in zip(
                tracks.tolist(),
                columns.ended[rows].tolist(),
                columns.flags[rows].tolist(),
                rows.tolist(),
                strict=True,
            )
        ]

    def source(self, row: int) -> str:
        return SOURCES[self.flags[row] >> 2]

    def track_of(self, entry: TrackEntry) -> int:
        index = self._track_index.get(entry.uri)
        if index is None:
            index = self._track_index[entry.uri] = len(self.tracks)
            self.tracks.append(entry)
        return index

    def add(
        self,
        track: int,
        *,
        ended: int,
        started: int,
        ms_played: int,
        counted: bool,
        skipped: bool,
        source: str,
    ) -> None:
        self.track.append(track)
        self.ended.append(ended)
        self.started.append(min(started, ended))
        self.ms_played.append(ms_played)
        self.flags.append(COUNTED * counted | SKIPPED * skipped | SOURCES.index(source) << 2)

    def extend(
        self, tracks: list[int], ends: list[int], played: list[int], flags: list[int]
    ) -> None:
        """Many Extended Streaming History listens at once (their start is end minus played)."""
        self.track.extend(tracks)
        self.ended.extend(ends)
        self.started.extend([end - ms for end, ms in zip(ends, played, strict=True)])
        self.ms_played.extend(played)
        self.flags.extend(flags)

    def minute_slot(self, track: int, minute_ms: int) -> int:
        """Account Data gives end times to the minute, and one track can end twice in a minute:
        the n-th such listen is stored n ms into the minute, the same on every import."""
        slot = self._minute_seen[track, minute_ms]
        self._minute_seen[track, minute_ms] += 1
        return slot


class ExportCatalog:
    """Catalog entries from an export's names: a Spotify track, or `local:<sha1(artist|track)>`
    when the export has no URI. Artists and albums are keyed by name until details are fetched;
    one entry each, however many tracks share them."""

    def __init__(self) -> None:
        self._credits: dict[str, CatalogEntry] = {}
        self._albums: dict[tuple[str, str], CatalogEntry] = {}

    def track(self, uri: str | None, name: str, artist: str, album: str) -> TrackEntry:
        artist = " ".join(artist.split()) or "Unknown Artist"
        credit = self._credits.get(artist)
        if credit is None:
            credit = self._credits[artist] = CatalogEntry(uri=local_uri(artist), name=artist)
        album_entry = None
        if album.strip():
            album_entry = self._albums.get((artist, album))
            if album_entry is None:
                album_entry = self._albums[artist, album] = CatalogEntry(
                    uri=local_uri(artist, album), name=album
                )
        return TrackEntry(
            uri=uri or local_uri(artist, name),
            name=" ".join(name.split()),
            duration_ms=None,
            isrc="",
            album=album_entry,
            artists=[credit],
        )


class Reader:
    """Reads files into one `Listens`, a report per file."""

    def __init__(self, *, play_min_ms: int, now: datetime) -> None:
        self.listens = Listens()
        self.reports: list[FileReport] = []
        self.play_min_ms = play_min_ms
        self.earliest_ms, self.latest_ms = ms_of(EARLIEST), ms_of(now + timedelta(days=1))
        self._catalog = ExportCatalog()
        # Track index by URI, or by the names a record gives: most repeat a track read before.
        self._named: dict[str | tuple[str, str, str], int] = {}

    def read(self, name: str, kind: Format, data: bytes | IO[bytes]) -> FileReport:
        report = FileReport(name=name, format=kind.value)
        if kind is Format.ENCORE:
            assert not isinstance(data, bytes)
            self._encore(report, data)
        else:
            assert isinstance(data, bytes)
            decoder = _extended if kind is Format.EXTENDED else _account
            try:
                records = decoder.decode(data)
            except msgspec.ValidationError as error:
                raise _schema_error(name, error) from None
            except msgspec.DecodeError as error:
                raise ExportError(f"not valid JSON ({error})", file=name) from None
            if kind is Format.EXTENDED:
                self._extended(report, records)  # type: ignore[arg-type]
            else:
                self._account(report, records)  # type: ignore[arg-type]
        self.reports.append(report)
        return report

    def _when(self, report: FileReport, record: int, moment: datetime) -> int:
        if moment.tzinfo is None:
            raise ExportError("time has no time zone", file=report.name, record=record)
        ms = ms_of(moment)
        if not self.earliest_ms <= ms <= self.latest_ms:
            raise ExportError(
                f"time {moment.isoformat()} is out of range", file=report.name, record=record
            )
        if report.first_ms is None or ms < report.first_ms:
            report.first_ms = ms
        if report.last_ms is None or ms > report.last_ms:
            report.last_ms = ms
        return ms

    def _extended(self, report: FileReport, records: list[ExtendedRecord]) -> None:
        # The hot loop of every import: plain lists appended to, columns extended once.
        threshold, named, earliest, latest = (
            self.play_min_ms,
            self._named,
            self.earliest_ms,
            self.latest_ms,
        )
        tracks: list[int] = []
        ends: list[int] = []
        played: list[int] = []
        flags: list[int] = []
        report.records = len(records)
        for number, r in enumerate(records, start=1):
            if r.spotify_episode_uri or r.episode_name:
                report.not_played[PODCAST] += 1
                continue
            if r.audiobook_uri or r.audiobook_chapter_uri or r.audiobook_title:
                report.not_played[AUDIOBOOK] += 1
                continue
            name = r.master_metadata_track_name
            if not name or name.isspace():
                report.not_played[NO_TRACK] += 1
                continue
            ts = r.ts
            if ts.tzinfo is None:
                raise ExportError("time has no time zone", file=report.name, record=number)
            ended = ms_of(ts)
            if not earliest <= ended <= latest:
                raise ExportError(
                    f"time {ts.isoformat()} is out of range", file=report.name, record=number
                )
            uri = r.spotify_track_uri
            track = named.get(uri) if uri else None  # a URI is the quickest key
            if track is None:
                names = (
                    name,
                    r.master_metadata_album_artist_name or "",
                    r.master_metadata_album_album_name or "",
                )
                track = named.get(uri or names)
                if track is None:
                    track = named[uri or names] = self.listens.track_of(
                        self._catalog.track(uri, *names)
                    )
            ms = r.ms_played
            counted = ms >= threshold
            skipped = not counted or r.skipped is True or r.reason_end in SKIP_REASONS
            tracks.append(track)
            ends.append(ended)
            played.append(ms)
            flags.append(counted | skipped << 1)  # source 0: "import"
        self.listens.extend(tracks, ends, played, flags)
        report.listens = len(ends)
        if ends:
            report.first_ms, report.last_ms = min(ends), max(ends)

    def _account(self, report: FileReport, records: list[AccountRecord]) -> None:
        listens, threshold = self.listens, self.play_min_ms
        report.records = len(records)
        # Sorted by end (stable, so listens in one minute keep the file's order).
        for number, r in sorted(enumerate(records, start=1), key=lambda pair: pair[1].endTime):
            if not r.trackName.strip():
                report.not_played[NO_TRACK] += 1
                continue
            try:
                minute = datetime.fromisoformat(r.endTime + ":00+00:00")
            except ValueError:
                raise ExportError(
                    f"endTime {r.endTime!r} is not a date", file=report.name, record=number
                ) from None
            minute_ms = self._when(report, number, minute)
            names = (r.trackName, r.artistName, "")
            track = self._named.get(names)
            if track is None:
                track = self._named[names] = listens.track_of(self._catalog.track(None, *names))
            ended = minute_ms + listens.minute_slot(track, minute_ms)
            counted = r.msPlayed >= threshold
            listens.add(
                track,
                ended=ended,
                started=ended - r.msPlayed,
                ms_played=r.msPlayed,
                counted=counted,
                skipped=not counted,
                source="account",
            )
            report.listens += 1

    def _encore(self, report: FileReport, stream: IO[bytes]) -> None:
        listens = self.listens
        lines = _lines(stream, file=report.name)
        header = b"".join(line for _, line in _until_plays(lines, report.name))
        try:
            fields = header.rstrip().removesuffix(b'"plays": [').rstrip().removesuffix(b",")
            _encore_header.decode(fields + b"}")
        except msgspec.MsgspecError:
            raise ExportError(
                "not an Encore export this version can read", file=report.name
            ) from None
        for number, line in lines:
            body = line.strip().removesuffix(b",")
            if body in (b"]}", b"]", b"}"):
                break
            try:
                p = _encore_play.decode(body)
            except msgspec.MsgspecError as error:
                raise ExportError(
                    f"not an Encore play ({error})", file=report.name, record=number
                ) from None
            report.records += 1
            ended = self._when(report, number, p.ended_at)
            if p.started_at.tzinfo is None or not EARLIEST <= p.started_at <= p.ended_at:
                raise ExportError("started_at is out of range", file=report.name, record=number)
            started = ms_of(p.started_at)
            album = None
            if p.album_uri and p.album_name:
                album = CatalogEntry(uri=p.album_uri, name=p.album_name)
            track = listens.track_of(
                TrackEntry(
                    uri=p.track_uri,
                    name=p.track_name,
                    duration_ms=None,
                    isrc="",
                    album=album,
                    artists=[CatalogEntry(uri=a.uri, name=a.name) for a in p.artists],
                )
            )
            listens.add(
                track,
                ended=ended,
                started=started,
                ms_played=p.ms_played,
                counted=p.counted,
                skipped=p.skipped,
                source=p.source,
            )
            report.listens += 1
        else:
            raise ExportError("the file ends before its last play", file=report.name)


ENCORE_LINE_MAX = 1 << 20  # one play per line; no real one is near a megabyte


def _lines(stream: IO[bytes], *, file: str) -> Iterator[tuple[int, bytes]]:
    for number, line in enumerate(iter(lambda: stream.readline(ENCORE_LINE_MAX + 1), b""), 1):
        if len(line) > ENCORE_LINE_MAX:
            raise ExportError("a line is longer than 1 MB", file=file, record=number)
        yield number, line


def _until_plays(lines: Iterator[tuple[int, bytes]], file: str) -> Iterator[tuple[int, bytes]]:
    for number, line in lines:
        yield number, line
        if line.rstrip().endswith(b'"plays": ['):
            return
    raise ExportError("not laid out as Encore writes its exports", file=file)


def _schema_error(file: str, error: msgspec.ValidationError) -> ExportError:
    """msgspec says `Expected int, got str - at $[12].ms_played`; users want the record number."""
    text = str(error)
    found = re.search(r" - at `\$\[(\d+)\]\.?(.*)`$", text)
    if found is None:
        return ExportError(f"not a list of streaming records ({text})", file=file)
    message = text[: found.start()]
    if found.group(2):
        message = f"{found.group(2)}: {message}"
    return ExportError(message, file=file, record=int(found.group(1)) + 1)
