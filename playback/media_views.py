"""The media endpoint: a track's FLAC bytes for the speaker a media token was minted for, with
byte ranges (seeking), streamed from disk in large chunks on reader threads so the event loop never
waits for the disk, or handed to the front server (nginx's X-Accel-Redirect, Apache's X-Sendfile).

Every answer, refusals included, says `Accept-Ranges: bytes` and `Cache-Control: no-store`. A
refusal says nothing else: 403 looks the same whether or not the track exists."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import stat
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from io import FileIO
from pathlib import Path
from urllib.parse import quote

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from playback.media import (
    ByteRange,
    Partial,
    Unsatisfiable,
    WholeFile,
    byte_ranges,
    multipart_byteranges,
)
from playback.models import LibraryFile
from playback.tokens import media_token_allows

logger = logging.getLogger(__name__)

CONTENT_TYPE = "audio/flac"
CHUNK_BYTES = 512 * 1024
# Disk reads get threads of their own rather than the event loop's default executor: a slow disk
# (a NAS) then holds up media streams only, not everything else that borrows a thread.
_readers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="encore-media")

_token_allows = sync_to_async(media_token_allows)


@csrf_exempt  # nothing here changes state, whatever the method: other methods get their 405
async def track_media(request: HttpRequest, track_id: int) -> HttpResponseBase:
    """GET or HEAD `/media/tracks/<id>?token=...`: 200, 206 (one range, or several as
    multipart/byteranges) or 416; 403 unless the token lets the signed-in user play this track on
    the active speaker; 404 if the track has no readable file inside MUSIC_ROOT; 405 otherwise."""
    if request.method not in ("GET", "HEAD"):
        return _bare(405, {"Allow": "GET, HEAD"})
    user = await request.auser()
    token = request.GET.get("token", "")
    if not user.is_authenticated or not await _token_allows(
        token, user_id=user.pk, track_id=track_id
    ):
        return _bare(403)

    row = await (
        LibraryFile.objects.filter(track_id=track_id, error="")
        .order_by("pk")
        .values_list("pk", "path")
        .afirst()
    )
    if row is None:
        return _bare(404)
    file_id, relative = row
    loop = asyncio.get_running_loop()
    try:
        opened = await loop.run_in_executor(
            _readers, _open_inside, settings.MUSIC_ROOT, bytes(relative)
        )
    except _OutsideRoot:
        logger.warning("Library file %s of track %s leads outside MUSIC_ROOT", file_id, track_id)
        return _bare(404)
    if opened is None:
        logger.info(
            "Library file %s of track %s is missing (rescan the library)", file_id, track_id
        )
        return _bare(404)

    if settings.MEDIA_ACCEL:
        opened.file.close()
        return _accelerated(opened, file_id=file_id, track_id=track_id)
    # Range handling is defined for GET only (RFC 9110 section 14.2): HEAD describes the whole file.
    # Without validators of ours (no ETag, no Last-Modified) an If-Range can never match: the
    # client gets the whole file rather than pieces of what might be another version.
    header = request.headers.get("Range")
    if request.method != "GET" or "If-Range" in request.headers:
        header = None
    answer = byte_ranges(header, opened.size, max_ranges=settings.MEDIA_MAX_RANGES)
    if isinstance(answer, Unsatisfiable):
        opened.file.close()
        return _bare(416, {"Content-Range": f"bytes */{opened.size}"})
    body = _body(answer, opened.size)
    response: HttpResponseBase
    if request.method == "HEAD":
        opened.file.close()
        response = HttpResponse(status=body.status, content_type=body.content_type)
    else:
        response = StreamingHttpResponse(
            _read_pieces(opened.file, body.pieces),
            status=body.status,
            content_type=body.content_type,
        )
    response["Content-Length"] = str(body.length)
    response["X-Content-Type-Options"] = "nosniff"
    if body.content_range:
        response["Content-Range"] = body.content_range
    return _media_headers(response)


@dataclass(frozen=True)
class _Body:
    status: int
    content_type: str
    length: int
    pieces: Sequence[bytes | ByteRange]  # literal bytes, and ranges of the file to read
    content_range: str = ""


def _body(answer: WholeFile | Partial, size: int) -> _Body:
    if isinstance(answer, WholeFile):
        pieces = [ByteRange(0, size - 1)] if size else []
        return _Body(status=200, content_type=CONTENT_TYPE, length=size, pieces=pieces)
    if len(answer.ranges) == 1:
        (only,) = answer.ranges
        return _Body(
            status=206,
            content_type=CONTENT_TYPE,
            length=only.length,
            pieces=[only],
            content_range=only.content_range(size),
        )
    framing = multipart_byteranges(
        answer.ranges, size=size, content_type=CONTENT_TYPE, boundary=secrets.token_hex(16)
    )
    parts: list[bytes | ByteRange] = []
    for head, byte_range in zip(framing.heads, framing.ranges, strict=True):
        parts += [head, byte_range]
    parts.append(framing.trailer)
    return _Body(
        status=206, content_type=framing.content_type, length=framing.content_length, pieces=parts
    )


@dataclass(frozen=True)
class _Opened:
    file: FileIO  # whoever receives it closes it (if nobody does, garbage collection will)
    size: int
    real: bytes  # the absolute path, symlinks resolved
    relative: bytes  # `real` relative to the resolved MUSIC_ROOT


class _OutsideRoot(Exception):
    """The stored path leads out of MUSIC_ROOT (`..`, an absolute path, a symlink)."""


def _open_inside(root: Path, relative: bytes) -> _Opened | None:
    """Open the regular file `relative` names under `root`, if there is one (None if not).
    Raises _OutsideRoot if the path, once resolved, is not inside the resolved root."""
    root_real = os.path.realpath(os.fsencode(root))
    try:
        real = os.path.realpath(os.path.join(root_real, relative))
    except ValueError as error:  # a NUL byte: no file has such a name
        raise _OutsideRoot from error
    if os.path.commonpath([root_real, real]) != root_real:
        raise _OutsideRoot
    try:
        file = FileIO(real, "rb", opener=_open_no_follow)
    except OSError:
        return None
    try:
        info = os.fstat(file.fileno())
    except OSError:
        file.close()
        return None
    if not stat.S_ISREG(info.st_mode):
        file.close()
        return None
    relative_real = os.path.relpath(real, root_real)
    return _Opened(file=file, size=info.st_size, real=real, relative=relative_real)


def _open_no_follow(path: str | bytes, _flags: int) -> int:
    # O_NOFOLLOW: a symlink put in place of the file since it was resolved is refused, not
    # followed; O_NONBLOCK: a FIFO there cannot hang the thread.
    return os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)


async def _read_pieces(file: FileIO, pieces: Sequence[bytes | ByteRange]) -> AsyncIterator[bytes]:
    """The body: literal pieces as they are, ranges read from `file`. Closes `file` at the end, or
    when the client goes away (the server then closes this generator)."""
    fd = file.fileno()
    reading: Future[bytes] | None = None
    try:
        for piece in pieces:
            if isinstance(piece, bytes):
                yield piece
                continue
            offset, end = piece.start, piece.end + 1
            while offset < end:
                reading = _readers.submit(os.pread, fd, min(CHUNK_BYTES, end - offset), offset)
                chunk = await asyncio.wrap_future(reading)
                if not chunk:
                    # Truncated in place since it was opened: the promised length cannot be met.
                    # Ending short rather than raising: under daphne the client is left waiting
                    # for the rest either way, and an exception once the response has started
                    # also trips daphne's own error handling (it tries to start a 500).
                    logger.warning("A media file shrank while being sent; the body ends short")
                    return
                offset += len(chunk)
                yield chunk
    finally:
        # A read still running (the client left while it waited) closes the file when it ends,
        # so the descriptor cannot be closed, reused and read from under it.
        if reading is None:
            file.close()
        else:
            reading.add_done_callback(lambda _: file.close())


def _accelerated(opened: _Opened, *, file_id: int, track_id: int) -> HttpResponseBase:
    """An empty 200 the front server fills with the file (ranges included): nginx gets the
    resolved path relative to MUSIC_ROOT (its internal location aliases the root), URL-quoted;
    Apache the absolute resolved path."""
    response = HttpResponse(content_type=CONTENT_TYPE)
    if settings.MEDIA_ACCEL == "nginx":
        response["X-Accel-Redirect"] = settings.MEDIA_ACCEL_LOCATION + quote(opened.relative)
    elif b"\n" in opened.real or b"\r" in opened.real:
        logger.warning(
            "Library file %s of track %s has a line break in its name", file_id, track_id
        )
        return _bare(404)
    else:
        # Bytes pass through as Latin-1, so names that are not UTF-8 reach Apache unchanged.
        response["X-Sendfile"] = opened.real
    response["X-Content-Type-Options"] = "nosniff"
    return _media_headers(response)


def _bare(status: int, headers: dict[str, str] | None = None) -> HttpResponseBase:
    response = HttpResponse(status=status, content_type="text/plain")
    for name, value in (headers or {}).items():
        response[name] = value
    return _media_headers(response)


def _media_headers(response: HttpResponseBase) -> HttpResponseBase:
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "no-store"
    return response
