"""How the media endpoint reads audio: right on the event loop when the page cache holds it, on a
reader thread when the disk must be waited for. The bytes are the same either way."""

from __future__ import annotations

import asyncio
import os
from io import FileIO
from pathlib import Path
from unittest import mock

import pytest

from playback import media_app
from playback.media import ByteRange

MIB = 1 << 20


async def body(path: Path, pieces: list[bytes | ByteRange]) -> bytes:
    return b"".join([chunk async for chunk in media_app._read_pieces(FileIO(path), pieces)])


def evict(path: Path) -> bool:
    """Drop `path` from the page cache; whether it is gone (tmpfs, for one, keeps it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)  # only written-back pages can be dropped
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        return not media_app._cached(fd, 0, path.stat().st_size)
    finally:
        os.close(fd)


def test_ranges_read_the_same_whether_cached_or_waited_for(tmp_path: Path) -> None:
    data = os.urandom(3 * MIB + 12_345)
    path = tmp_path / "song.flac"
    path.write_bytes(data)
    pieces: list[bytes | ByteRange] = [
        ByteRange(0, 99),
        b"--boundary--",
        ByteRange(MIB - 5, 2 * MIB + 5),  # more than one chunk
        ByteRange(len(data) - 10, len(data) - 1),
    ]
    expected = data[:100] + b"--boundary--" + data[MIB - 5 : 2 * MIB + 6] + data[-10:]
    if not evict(path):
        pytest.skip(f"{tmp_path} keeps files in memory: nothing to wait for")

    with mock.patch.object(media_app._readers, "submit", wraps=media_app._readers.submit) as waited:  # fmt: skip
        assert asyncio.run(body(path, pieces)) == expected
    assert waited.call_count >= 1  # the disk was waited for on a reader thread

    with mock.patch.object(media_app._readers, "submit", wraps=media_app._readers.submit) as waited:  # fmt: skip
        assert asyncio.run(body(path, pieces)) == expected
    assert waited.call_count == 0  # now cached: read on the event loop


def test_a_file_that_shrank_ends_the_body_short(tmp_path: Path) -> None:
    path = tmp_path / "song.flac"
    path.write_bytes(os.urandom(2 * MIB))
    file = FileIO(path)
    os.truncate(path, MIB // 2)

    async def read() -> bytes:
        return b"".join([chunk async for chunk in media_app._read_pieces(file, [ByteRange(0, 2 * MIB - 1)])])  # fmt: skip

    assert len(asyncio.run(read())) == MIB // 2
    assert file.closed
