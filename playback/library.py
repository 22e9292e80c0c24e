"""The local FLAC library: the scan that keeps LibraryFile rows and the catalog in step with the
files under MUSIC_ROOT, and the library page's selectors (cover art: playback.covers)."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from mutagen import MutagenError
from mutagen.flac import FLAC, FLACNoHeaderError, VCFLACDict

from ops.models import JobRun
from playback import covers
from playback.models import LibraryFile
from playback.tasks import library_scan as library_scan_task
from scrobbler.catalog import CatalogEntry, TrackEntry, catalog_upsert, local_uri, rows_where_in
from scrobbler.models import Album, Track

log = logging.getLogger(__name__)

SCAN_BATCH = 250  # files read, matched and written per transaction
SCAN_LOCK_KEY = "playback:library-scan"
SCAN_LOCK_SECONDS = 30 * 60  # refreshed after every batch: only a dead scan's lock runs out
DURATION_SLACK_MS = 3_000  # a Spotify track this close in length is the same recording
PROBLEMS_IN_DETAILS = 50
UNKNOWN_ARTIST = "Unknown artist"
SPOTIFY_TRACK = "spotify:track:"


@dataclass(frozen=True)
class Problem:
    path: str
    reason: str


@dataclass
class ScanReport:
    """What a scan did. `error` says why it did nothing at all (the library is left as it was)."""

    root: str
    added: int = 0
    updated: int = 0
    renamed: int = 0
    removed: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    error: str = ""
    busy: bool = False  # another scan was running
    job_id: int | None = None

    def details(self) -> dict[str, Any]:
        """The JobRun's details: counts and the first problems."""
        counts = ("root", "added", "updated", "renamed", "removed", "unchanged", "error")
        return {
            **{name: getattr(self, name) for name in counts},
            "problem_count": len(self.problems),
            "problems": [vars(p) for p in self.problems[:PROBLEMS_IN_DETAILS]],
        }


class UnreadableFile(Exception):
    """A file the scan cannot use; the message says why, for the people who own the files."""


@dataclass(frozen=True)
class FileTags:
    """What a FLAC file says about itself. Every field but `artists` is a LibraryFile column."""

    artists: tuple[str, ...]  # one per credited artist, for the catalog
    title: str
    artist: str  # the credit as tagged, for display
    album: str
    album_artist: str
    track_number: int | None
    disc_number: int | None
    date: str
    genre: str
    isrc: str
    musicbrainz_track_id: str
    musicbrainz_album_id: str
    musicbrainz_artist_id: str
    duration_ms: int | None
    sample_rate: int | None
    bits_per_sample: int | None
    channels: int | None
    audio_md5: str
    cover_key: str

    @property
    def name_key(self) -> str:
        """The catalog's key for this song (scrobbler.catalog.name_key)."""
        return local_uri(self.artists[0], self.title)

    def columns(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "artists"}


# --- Reading one file ------------------------------------------------------------------------


def file_read(path: bytes) -> FileTags:
    """The tags and stream details of the FLAC file at `path` (absolute); raises UnreadableFile."""
    try:
        with open(path, "rb") as fh:
            audio = FLAC(fh) if os.fstat(fh.fileno()).st_size else None
    except PermissionError:
        raise UnreadableFile("permission denied") from None
    except FLACNoHeaderError:
        raise UnreadableFile("not a FLAC file") from None
    except MutagenError as exc:
        raise UnreadableFile(f"damaged or truncated FLAC ({exc})"[:500]) from None
    except OSError as exc:
        raise UnreadableFile(f"could not be read ({exc.strerror or exc})"[:500]) from None
    except Exception as exc:  # a hostile file can trip any parser bug: one file, not the scan
        raise UnreadableFile(f"could not be parsed ({type(exc).__name__})") from None
    if audio is None:
        raise UnreadableFile("empty file (0 bytes)")
    if audio.info.length and not audio.info.bitrate:
        raise UnreadableFile("no audio after the tags (truncated?)")
    return _file_tags(path, audio)


def _file_tags(path: bytes, audio: FLAC) -> FileTags:
    tags = audio.tags if isinstance(audio.tags, VCFLACDict) else None

    def values(*names: str) -> list[str]:
        """The values of the first of `names` that has any, cleaned and without repeats."""
        for name in names:
            found: list[str] = []
            for value in tags.get(name, []) if tags is not None else []:
                value = value.replace("\x00", "").strip()  # NUL: PostgreSQL refuses it in text
                if value and value not in found:
                    found.append(value)
            if found:
                return found
        return []

    def first(*names: str, limit: int) -> str:
        return next(iter(values(*names)), "")[:limit]

    info = audio.info
    # ARTISTS (MusicBrainz Picard) lists each artist of a credit such as "A feat. B" in ARTIST.
    artists = tuple(name[:500] for name in values("ARTISTS", "ARTIST")) or (UNKNOWN_ARTIST,)
    pictures = audio.pictures
    cover = next((p for p in pictures if p.type == 3), pictures[0] if pictures else None)
    duration_ms = round(info.length * 1000) if info.length else None
    return FileTags(
        artists=artists,
        title=first("TITLE", limit=500)
        or os.path.splitext(os.path.basename(path))[0].decode("utf-8", "replace")[:500],
        artist=", ".join(values("ARTIST", "ARTISTS"))[:500] or artists[0],
        album=first("ALBUM", limit=500),
        album_artist=first("ALBUMARTIST", "ALBUM ARTIST", limit=500),
        track_number=_number(first("TRACKNUMBER", limit=20)),
        disc_number=_number(first("DISCNUMBER", limit=20)),
        date=_date(first("DATE", "YEAR", limit=100)),
        genre=", ".join(values("GENRE"))[:200],
        isrc=_isrc(first("ISRC", limit=100)),
        musicbrainz_track_id=first("MUSICBRAINZ_TRACKID", limit=36).lower(),
        musicbrainz_album_id=first("MUSICBRAINZ_ALBUMID", limit=36).lower(),
        musicbrainz_artist_id=first("MUSICBRAINZ_ARTISTID", limit=36).lower(),
        duration_ms=duration_ms if duration_ms and duration_ms < 2**31 else None,
        sample_rate=info.sample_rate or None,
        bits_per_sample=info.bits_per_sample or None,
        channels=info.channels or None,
        audio_md5=f"{info.md5_signature:032x}" if info.md5_signature else "",
        cover_key=covers.picture_key(cover.data) if cover is not None and cover.data else "",
    )


def _number(text: str) -> int | None:
    """The number a tag such as "02/10" starts with; None if it starts with none."""
    match = re.match(r"\d{1,5}", text)
    return int(match[0]) if match and int(match[0]) <= 32_767 else None


def _date(text: str) -> str:
    """YYYY, YYYY-MM or YYYY-MM-DD from the start of the tag, else a year found in it."""
    match = re.match(r"\d{4}(?:-\d{2}(?:-\d{2})?)?", text) or re.search(r"\b(\d{4})\b", text)
    return match[0] if match else ""


def _isrc(text: str) -> str:
    code = re.sub(r"[\s-]", "", text).upper()
    return code if re.fullmatch(r"[A-Z]{2}[A-Z0-9]{3}\d{7}", code) else ""


def sha1_hex(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def _display(rel: bytes) -> str:
    return rel.decode("utf-8", "replace")[:1000] if rel else "."


# --- Walking MUSIC_ROOT ----------------------------------------------------------------------


@dataclass
class _Walk:
    files: dict[bytes, os.stat_result] = field(default_factory=dict)  # relative path: stat
    problems: list[Problem] = field(default_factory=list)
    unread: list[bytes] = field(default_factory=list)  # folders that could not be listed

    def hides(self, rel: bytes) -> bool:
        """Whether `rel` is in a folder this walk could not list (so it may well still exist)."""
        return any(not folder or rel.startswith(folder + b"/") for folder in self.unread)


def _walk(root: bytes) -> _Walk:
    """Every .flac file under `root`, following links that stay inside it, each folder once."""
    walk = _Walk()
    real_root = os.path.realpath(root)
    root_stat = os.stat(root)
    visited = {(root_stat.st_dev, root_stat.st_ino)}
    folders = [b""]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(os.path.join(root, folder) if folder else root) as listing:
                entries = list(listing)
        except OSError as exc:
            walk.problems.append(Problem(_display(folder), f"folder not readable ({exc.strerror})"))
            walk.unread.append(folder)
            continue
        for entry in entries:
            if entry.name.startswith(b"."):  # hidden: .Trash, macOS's ._ resource forks
                continue
            rel = os.path.join(folder, entry.name) if folder else entry.name
            is_link = entry.is_symlink()
            if not is_link and not entry.is_dir(follow_symlinks=False):
                if entry.name.lower().endswith(b".flac") and entry.is_file(follow_symlinks=False):
                    try:
                        walk.files[rel] = entry.stat(follow_symlinks=False)
                    except OSError as exc:
                        walk.problems.append(Problem(_display(rel), f"gone ({exc.strerror})"))
                continue
            if is_link:
                # commonpath, not a prefix: /music-private starts with /music but is outside it.
                target = os.path.realpath(entry.path)
                if os.path.commonpath([real_root, target]) != real_root:
                    walk.problems.append(Problem(_display(rel), "link to outside MUSIC_ROOT"))
                    continue
            try:
                st = os.stat(entry.path)
            except OSError as exc:
                walk.problems.append(Problem(_display(rel), f"broken link ({exc.strerror})"))
                continue
            if stat.S_ISDIR(st.st_mode):
                if (st.st_dev, st.st_ino) not in visited:  # links can make loops
                    visited.add((st.st_dev, st.st_ino))
                    folders.append(rel)
            elif stat.S_ISREG(st.st_mode) and entry.name.lower().endswith(b".flac"):
                walk.files[rel] = st
    return walk


# --- The scan --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Known:
    pk: int
    path_key: str
    path: bytes
    size: int
    mtime_ns: int
    error: str
    audio_md5: str


@dataclass(frozen=True)
class _Found:
    rel: bytes
    path_key: str
    size: int
    mtime_ns: int
    row: _Known | None


def library_scan(*, full: bool = False) -> ScanReport:
    """Bring the library up to date with MUSIC_ROOT: new files added, changed ones read again
    (with `full`, every one), moved ones kept under their new path, deleted ones removed (their
    catalog tracks and plays stay). Files whose size and mtime are unchanged are not opened.

    One scan at a time: a second one returns at once with `busy` set. Recorded as a JobRun."""
    report = ScanReport(root=str(settings.MUSIC_ROOT))
    token = uuid.uuid4().hex
    if not cache.add(SCAN_LOCK_KEY, token, SCAN_LOCK_SECONDS):
        report.busy = True
        report.error = "another library scan is running"
        return report
    try:
        # Holding the lock, any scan still marked running died without finishing.
        JobRun.objects.filter(kind=JobRun.Kind.LIBRARY_SCAN, status=JobRun.Status.RUNNING).update(
            status=JobRun.Status.FAILED, details={"error": "interrupted"}
        )
        job = JobRun.objects.create(
            kind=JobRun.Kind.LIBRARY_SCAN,
            status=JobRun.Status.RUNNING,
            started_at=timezone.now(),
            details={"root": report.root, "full": full},
        )
        report.job_id = job.pk
        failure = ""
        try:
            _scan(report, full=full)
        except Exception as exc:
            failure = f"{type(exc).__name__}: {exc}"[:500]
            raise
        finally:
            job.status = (
                JobRun.Status.FAILED if failure or report.error else JobRun.Status.SUCCEEDED
            )
            job.details = {**job.details, **report.details(), "error": failure or report.error}
            job.finished_at = timezone.now()
            job.save(update_fields=["status", "details", "finished_at"])
    finally:
        if cache.get(SCAN_LOCK_KEY) == token:
            cache.delete(SCAN_LOCK_KEY)
    return report


def _scan(report: ScanReport, *, full: bool) -> None:
    root = os.fsencode(settings.MUSIC_ROOT)
    # A disk that is not mounted must not look like a library whose every file was deleted.
    if not os.path.isdir(root):
        report.error = f"MUSIC_ROOT {report.root} is missing (not mounted?): nothing changed"
        return
    known = {
        path_key: _Known(pk, path_key, bytes(path), size, mtime_ns, error, md5)
        for pk, path_key, path, size, mtime_ns, error, md5 in LibraryFile.objects.values_list(
            "pk", "path_key", "path", "size", "mtime_ns", "error", "audio_md5"
        )
    }
    walk = _walk(root)
    report.problems.extend(walk.problems)
    if not walk.files and known and not os.listdir(root):
        report.error = f"MUSIC_ROOT {report.root} is empty (not mounted?): nothing changed"
        return
    to_read: list[_Found] = []
    seen: set[str] = set()
    for rel in sorted(walk.files):
        st, path_key = walk.files[rel], sha1_hex(rel)
        seen.add(path_key)
        row = known.get(path_key)
        if row and not full and (row.size, row.mtime_ns) == (st.st_size, st.st_mtime_ns):
            report.unchanged += 1
            if row.error:
                report.problems.append(Problem(_display(rel), row.error))
            continue
        to_read.append(_Found(rel, path_key, st.st_size, st.st_mtime_ns, row))
    vanished = {k: row for k, row in known.items() if k not in seen and not walk.hides(row.path)}
    moved_from: dict[tuple[str, int], list[_Known]] = defaultdict(list)
    for row in vanished.values():
        if row.audio_md5:
            moved_from[(row.audio_md5, row.size)].append(row)
    for start in range(0, len(to_read), SCAN_BATCH):
        cache.touch(SCAN_LOCK_KEY, SCAN_LOCK_SECONDS)
        _scan_batch(root, to_read[start : start + SCAN_BATCH], moved_from, vanished, report)
    gone = [row.pk for row in vanished.values()]
    for start in range(0, len(gone), 500):
        LibraryFile.objects.filter(pk__in=gone[start : start + 500]).delete()
    report.removed = len(gone)


LIBRARY_FILE_COLUMNS = [f.name for f in LibraryFile._meta.concrete_fields if not f.primary_key]


def _scan_batch(
    root: bytes,
    batch: Sequence[_Found],
    moved_from: dict[tuple[str, int], list[_Known]],
    vanished: dict[str, _Known],
    report: ScanReport,
) -> None:
    """Read the files, find their catalog tracks and write their rows: a few statements for the
    whole batch, however many files it has."""
    now = timezone.now()
    new: list[LibraryFile] = []
    old: list[LibraryFile] = []
    readable: list[tuple[LibraryFile, FileTags]] = []
    for found in batch:
        try:
            tags: FileTags | None = file_read(os.path.join(root, found.rel))
            error = ""
        except UnreadableFile as exc:
            tags, error = None, str(exc)
            report.problems.append(Problem(_display(found.rel), error))
        row = found.row
        if row is not None:
            report.updated += 1
        elif tags is not None and tags.audio_md5 and moved_from.get((tags.audio_md5, found.size)):
            row = moved_from[(tags.audio_md5, found.size)].pop()
            del vanished[row.path_key]
            report.renamed += 1
        else:
            report.added += 1
        item = LibraryFile(
            pk=row.pk if row is not None else None,
            path=found.rel,
            path_key=found.path_key,
            display_path=_display(found.rel),
            size=found.size,
            mtime_ns=found.mtime_ns,
            error=error,
            scanned_at=now,
            **(tags.columns() if tags is not None else {}),
        )
        (old if row is not None else new).append(item)
        if tags is not None:
            readable.append((item, tags))
    with transaction.atomic():
        track_ids = _catalog_tracks([tags for _, tags in readable])
        for (item, _), track_id in zip(readable, track_ids, strict=True):
            item.track_id = track_id
        LibraryFile.objects.bulk_create(new)
        # Rows read again keep their ids: one INSERT ... ON CONFLICT (id) DO UPDATE per chunk of
        # rows, where bulk_update's CASE per column costs SQLite about 7 ms a row.
        LibraryFile.objects.bulk_create(
            old, update_conflicts=True, unique_fields=["pk"], update_fields=LIBRARY_FILE_COLUMNS
        )


def _catalog_tracks(files: Sequence[FileTags]) -> list[int]:
    """Each file's catalog track: the Spotify track with its ISRC, else the Spotify track with
    its artist and title and about its length, else a `local:` track keyed like the tracks of
    exports without URIs (so their plays join up). A few queries whatever the number of files."""
    by_isrc: dict[str, int] = {}
    spotify = Track.objects.filter(uri__startswith=SPOTIFY_TRACK).order_by("pk")
    isrcs = {f.isrc for f in files if f.isrc}
    for isrc, track_id in spotify.filter(isrc__in=isrcs).values_list("isrc", "pk"):
        by_isrc.setdefault(isrc, track_id)
    by_key: dict[str, list[tuple[int, int | None]]] = defaultdict(list)
    keyed = spotify.filter(name_key__in={f.name_key for f in files})
    for key, track_id, duration in keyed.values_list("name_key", "pk", "duration_ms"):
        by_key[key].append((track_id, duration))
    chosen: list[int | None] = []
    for f in files:
        same_isrc = by_isrc.get(f.isrc) if f.isrc else None
        chosen.append(same_isrc or _same_length(by_key.get(f.name_key, []), f.duration_ms))
    local_ids = catalog_upsert(
        _local_entries([f for f, track_id in zip(files, chosen, strict=True) if track_id is None])
    )
    return [
        track_id if track_id is not None else local_ids[f.name_key]
        for f, track_id in zip(files, chosen, strict=True)
    ]


def _same_length(candidates: list[tuple[int, int | None]], duration_ms: int | None) -> int | None:
    """The candidate closest in length, within DURATION_SLACK_MS (an unknown length matches)."""
    best: tuple[int, int] | None = None
    for track_id, duration in candidates:
        gap = 0 if duration is None or duration_ms is None else abs(duration - duration_ms)
        if gap <= DURATION_SLACK_MS and (best is None or gap < best[0]):
            best = (gap, track_id)
    return best[1] if best else None


def _local_entries(files: Sequence[FileTags]) -> list[TrackEntry]:
    """Catalog entries for files of no Spotify track. An album keeps the image it has (Spotify's,
    or an earlier file's cover) unless it has none or one of ours that a new cover replaces."""
    albums: dict[str, CatalogEntry] = {}
    entries: dict[str, TrackEntry] = {}
    for f in files:
        artists = [CatalogEntry(uri=local_uri(name), name=name) for name in f.artists]
        credits = (
            [CatalogEntry(uri=local_uri(f.album_artist), name=f.album_artist)]
            if f.album_artist
            else artists[:1]
        )
        album = None
        if f.album:
            uri = local_uri(f.album_artist or f.artists[0], f.album)
            extra = {"release_date": "", "image_url": ""}
            album = albums.setdefault(uri, CatalogEntry(uri=uri, name=f.album, extra=extra))
            album.extra["release_date"] = album.extra["release_date"] or f.date
            if f.cover_key and not album.extra["image_url"]:
                album.extra["image_url"] = covers.cover_url(f.cover_key, covers.COVER_ALBUM_SIZE)
        entries[f.name_key] = TrackEntry(
            uri=f.name_key,
            name=f.title,
            duration_ms=f.duration_ms,
            isrc=f.isrc,
            album=album,
            artists=artists,
            album_artists=credits,
        )
    ours = reverse("library")
    for uri, image, date in rows_where_in(Album, "uri", albums, "uri", "image_url", "release_date"):
        extra = albums[uri].extra
        if image and not (extra["image_url"] and image.startswith(ours)):
            extra["image_url"] = image
        extra["release_date"] = extra["release_date"] or date
    return list(entries.values())


# --- The library page ------------------------------------------------------------------------


def library_totals() -> dict[str, int]:
    """Files, catalog tracks and albums they play, their length, and files that cannot play."""
    totals = LibraryFile.objects.aggregate(
        files=Count("pk"),
        tracks=Count("track", distinct=True),
        albums=Count("track__album", distinct=True),
        duration_ms=Sum("duration_ms", filter=Q(error="")),
        problems=Count("pk", filter=~Q(error="")),
    )
    return {key: value or 0 for key, value in totals.items()}


def library_albums() -> QuerySet[Album]:
    """Albums with playable files, by name, with `file_count` and a `cover_key` of one of them."""
    return (
        Album.objects.filter(tracks__library_files__error="")
        .annotate(
            file_count=Count("tracks__library_files"),
            cover_key=Max("tracks__library_files__cover_key"),
        )
        .order_by(Lower("name"), "pk")
        .prefetch_related("artists")
    )


def library_scans() -> tuple[JobRun | None, JobRun | None]:
    """The newest library scan, and the newest one that finished (the same one, usually)."""
    scans = JobRun.objects.filter(kind=JobRun.Kind.LIBRARY_SCAN).order_by("-created_at")
    latest = scans.first()
    if latest is None or latest.finished_at is not None:
        return latest, latest
    return latest, scans.filter(finished_at__isnull=False).first()


def library_scan_queue() -> None:
    """Have a worker scan the library once the current transaction commits."""
    transaction.on_commit(library_scan_task.delay)
