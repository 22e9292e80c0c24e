"""Opening what a user uploads: loose JSON files or the ZIP Spotify sends, under size caps.

ZIP members are read straight from the archive into memory, never extracted, so a member named
`../../etc/passwd` is only a name. Caps stop zip bombs (entry count, total and per-file size,
compression ratio) before anything is decompressed, and reads stop one byte past the cap
whatever a member's header claims.
"""

from __future__ import annotations

import lzma
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from imports.parsing import ExportError, base_name

HEAD_BYTES = 4096  # enough of a file to tell its format
# What zipfile raises for a damaged archive: bad structure, corrupt compressed data, a method it
# cannot decompress (Deflate64, from Windows' zipper), names that are not the UTF-8 they claim.
ZIP_ERRORS = (
    zipfile.BadZipFile,
    OSError,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    NotImplementedError,
    UnicodeDecodeError,
)


@dataclass(frozen=True)
class Limits:
    file_bytes: int  # largest file decoded whole (Encore's own exports are read line by line)
    total_bytes: int  # all files together, uncompressed
    zip_entries: int
    zip_ratio: int  # uncompressed / compressed, for members over a megabyte


@dataclass(frozen=True)
class Member:
    """One file to read: a loose upload or a ZIP member."""

    name: str  # as the user knows it, e.g. `my_spotify_data.zip/Spotify Account Data/…json`
    size: int
    path: Path
    entry: int | None = None  # position in the ZIP at `path` (names can repeat in a ZIP)

    @contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        if self.entry is None:
            with self.path.open("rb") as stream:
                yield stream
            return
        try:
            with (
                zipfile.ZipFile(self.path) as archive,
                archive.open(archive.infolist()[self.entry]) as stream,
            ):
                yield stream
        except ZIP_ERRORS as error:
            raise ExportError(f"damaged ZIP member ({error})", file=self.name) from None

    def head(self) -> bytes:
        with self.open() as stream:
            return stream.read(HEAD_BYTES)

    def read(self, limit: int) -> bytes:
        if self.size > limit:
            raise ExportError(_too_big(self.size, limit), file=self.name)
        try:
            with self.open() as stream:
                # Never more than the size it claims: a lying ZIP header fails its CRC check.
                data = stream.read(min(limit, self.size) + 1)
        except ZIP_ERRORS as error:
            raise ExportError(f"damaged ZIP member ({error})", file=self.name) from None
        if len(data) > limit:
            raise ExportError(_too_big(len(data), limit), file=self.name)
        return data


def _too_big(size: int, limit: int) -> str:
    return f"{_mb(size)} is more than the {_mb(limit)} Encore reads per file"


def _mb(size: int) -> str:
    """Sizes as people read them, never rounded to look like the cap they exceed."""
    return f"{size / 2**20:,.1f} MB" if size < 10 * 2**20 else f"{size / 2**20:,.0f} MB"


def is_zip(path: Path) -> bool:
    with path.open("rb") as stream:
        return stream.read(4) in (b"PK\x03\x04", b"PK\x05\x06")


def members(uploads: list[tuple[str, Path]], limits: Limits) -> list[Member]:
    """The files inside the uploads, checked against the caps; raises ExportError."""
    found: list[Member] = []
    for name, path in uploads:
        if is_zip(path):
            found.extend(_zip_members(name, path, limits))
        elif name.lower().endswith(".zip"):
            raise ExportError("not a ZIP file (or a damaged one)", file=name)
        else:
            found.append(Member(name=name, size=path.stat().st_size, path=path))
    total = sum(m.size for m in found)
    if total > limits.total_bytes:
        raise ExportError(
            f"{_mb(total)} uncompressed is more than the {_mb(limits.total_bytes)} Encore "
            "imports at once",
            file=uploads[0][0] if len(uploads) == 1 else "the upload",
        )
    return found


def _zip_members(name: str, path: Path, limits: Limits) -> list[Member]:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except ZIP_ERRORS as error:
        raise ExportError(f"damaged ZIP file ({error})", file=name) from None
    if len(infos) > limits.zip_entries:
        raise ExportError(
            f"{len(infos):,} entries is more than the {limits.zip_entries:,} Encore accepts",
            file=name,
        )
    found = []
    for entry, info in enumerate(infos):
        if info.is_dir() or base_name(info.filename).startswith("."):
            continue
        member_name = f"{name}/{info.filename}"
        if info.flag_bits & 0x1:
            raise ExportError("encrypted ZIP members are not supported", file=member_name)
        if info.file_size > 2**20 and info.file_size > limits.zip_ratio * max(
            info.compress_size, 1
        ):
            raise ExportError(
                f"compressed more than {limits.zip_ratio}:1, which no real export is (a zip bomb?)",
                file=member_name,
            )
        found.append(Member(name=member_name, size=info.file_size, path=path, entry=entry))
    return found
