"""The media endpoint, `GET|HEAD /media/tracks/<id>?token=...`: a track's FLAC bytes for the
speaker a media token was minted for, with byte ranges (seeking), streamed in large chunks (read
right on the event loop when the page cache holds them, on reader threads when the disk must be
waited for), or handed to the front server (nginx's X-Accel-Redirect, Apache's X-Sendfile).

It is a bare ASGI application in front of Django (config/asgi.py) rather than a Django view: a
player fetches audio in many range requests, and Django's middleware chain (each middleware a hop
between the event loop and a thread) cost ten times what the answer itself does. What that chain
gave is done here directly: the session cookie names a signed-in user (the same checks as Django's
`get_user`), and one query checks the session, the token's speaker and finds the file (on the
event loop, through a connection of its own). Opening the file (a few metadata calls,
cached by the kernel) happens on the event loop. Nothing here writes anything, so there is no
CSRF to guard against.

Every answer, refusals included, says `Accept-Ranges: bytes` and `Cache-Control: no-store`. A
refusal says nothing else: 403 looks the same whether or not the track exists."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import stat
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from io import FileIO
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, quote

from django.conf import settings
from django.db import DatabaseError, connection
from django.http.cookie import parse_cookie
from django.http.request import split_domain_port, validate_host

from playback.media import (
    ByteRange,
    Partial,
    Unsatisfiable,
    WholeFile,
    byte_ranges,
    multipart_byteranges,
)
from playback.tokens import Found, MediaGrant, media_file, media_file_here, media_grant

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

PATH = re.compile(r"/media/tracks/([0-9]{1,18})")
CONTENT_TYPE = "audio/flac"
CHUNK_BYTES = 1024 * 1024  # bench/media.py: larger reads cost less CPU per byte sent, up to here
# Disk reads get threads of their own rather than the event loop's default executor: a slow disk
# (a NAS) then holds up media streams only, not everything else that borrows a thread.
_readers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="encore-media")
# The media query when it cannot be asked on the event loop. These threads keep their database
# connections between requests (Django's per-request connection handling is not involved), so a
# few are enough and cheap.
_checkers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="encore-media-auth")


def media_url(track_id: int, token: str) -> str:
    return f"/media/tracks/{track_id}?token={quote(token, safe=':')}"


class MediaRouter:
    """ASGI middleware: media requests to `serve_track`, everything else to `app` (Django)."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path, root = scope["path"], scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            if match := PATH.fullmatch(path):
                await serve_track(scope, receive, send, int(match[1]))
                return
        await self.app(scope, receive, send)


async def serve_track(scope: Scope, receive: Receive, send: Send, track_id: int) -> None:
    """200, 206 (one range, or several as multipart/byteranges) or 416; 400 for a host not in
    ALLOWED_HOSTS; 403 unless the token lets the signed-in user play this track on the active
    speaker; 404 if the track has no readable file inside MUSIC_ROOT; 405 for other methods."""
    method = scope["method"]
    if method not in ("GET", "HEAD"):
        await _send_bare(send, 405, [(b"allow", b"GET, HEAD")])
        return
    headers = _request_headers(scope)
    domain, _ = split_domain_port(headers.get("host", ""))
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        await _send_bare(send, 400)
        return
    token = parse_qs(scope["query_string"].decode("latin-1")).get("token", [""])[-1]
    session_key = parse_cookie(headers.get("cookie", "")).get(settings.SESSION_COOKIE_NAME)
    grant = media_grant(token)
    if grant is None or grant.track_id != track_id or not session_key:
        await _send_bare(send, 403)
        return
    opened = _open_found(await _media_file(grant, session_key), track_id)
    if isinstance(opened, str):
        await _send_bare(send, 403 if opened == "refused" else 404)
        return

    if settings.MEDIA_ACCEL:
        opened.file.close()
        await _send_accelerated(send, opened, track_id=track_id)
        return
    # Range handling is defined for GET only (RFC 9110 section 14.2): HEAD describes the whole file.
    # Without validators of ours (no ETag, no Last-Modified) an If-Range can never match: the
    # client gets the whole file rather than pieces of what might be another version.
    range_header = headers.get("range")
    if method != "GET" or "if-range" in headers:
        range_header = None
    answer = byte_ranges(range_header, opened.size, max_ranges=settings.MEDIA_MAX_RANGES)
    if isinstance(answer, Unsatisfiable):
        opened.file.close()
        await _send_bare(send, 416, [(b"content-range", f"bytes */{opened.size}".encode())])
        return
    body = _body(answer, opened.size)
    response_headers = [
        (b"content-type", body.content_type.encode()),
        (b"content-length", str(body.length).encode()),
        (b"x-content-type-options", b"nosniff"),
    ]
    if body.content_range:
        response_headers.append((b"content-range", body.content_range.encode()))
    await send(_start(body.status, response_headers))
    if method == "HEAD":
        opened.file.close()
        await send({"type": "http.response.body", "body": b""})
        return
    await _send_pieces(send, receive, _read_pieces(opened.file, body.pieces))


async def _media_file(grant: MediaGrant, session_key: str) -> Found:
    """`media_file`: right here on the event loop if it can be, else on a `_checkers` thread."""
    found = await media_file_here(grant, session_key)
    if found is not None:
        return found
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_checkers, _checked_media_file, grant, session_key)


def _checked_media_file(grant: MediaGrant, session_key: str) -> Found:
    """`media_file` on a `_checkers` thread. The thread's database connection stays open between
    requests: a broken one (the database restarted) is dropped and tried anew once."""
    try:
        return media_file(grant, session_key)
    except DatabaseError:
        connection.close()
        return media_file(grant, session_key)


def _open_found(found: Found, track_id: int) -> _Opened | Literal["refused", "missing"]:
    """The found file, opened; "missing" also for a file gone from the disk or leading outside
    MUSIC_ROOT (logged)."""
    if isinstance(found, str):  # "refused" or "missing"
        return found
    file_id, relative = found
    try:
        opened = _open_inside(settings.MUSIC_ROOT, relative, file_id=file_id)
    except _OutsideRoot:
        logger.warning("Library file %s of track %s leads outside MUSIC_ROOT", file_id, track_id)
        return "missing"
    if opened is None:
        logger.info("Library file %s of track %s is missing (rescan the library)", file_id, track_id)  # fmt: skip
        return "missing"
    return opened


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
    file_id: int
    file: FileIO  # whoever receives it closes it (if nobody does, garbage collection will)
    size: int
    real: bytes  # the absolute path, symlinks resolved
    relative: bytes  # `real` relative to the resolved MUSIC_ROOT


class _OutsideRoot(Exception):
    """The stored path leads out of MUSIC_ROOT (`..`, an absolute path, a symlink)."""


def _open_inside(root: Path, relative: bytes, *, file_id: int) -> _Opened | None:
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
    return _Opened(file_id=file_id, file=file, size=info.st_size, real=real, relative=relative_real)


def _open_no_follow(path: str | bytes, _flags: int) -> int:
    # O_NOFOLLOW: a symlink put in place of the file since it was resolved is refused, not
    # followed; O_NONBLOCK: a FIFO there cannot hang the thread.
    return os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)


async def _read_pieces(file: FileIO, pieces: Sequence[bytes | ByteRange]) -> AsyncGenerator[bytes]:
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
                size = min(CHUNK_BYTES, end - offset)
                if _cached(fd, offset, size):
                    chunk = os.pread(fd, size, offset)
                    await asyncio.sleep(0)  # let other streams and new requests have their turn
                else:
                    reading = _readers.submit(os.pread, fd, size, offset)
                    chunk = await asyncio.wrap_future(reading)
                if not chunk:
                    # Truncated in place since it was opened: the promised length cannot be met.
                    # Ending short rather than raising: the server cuts the connection either way
                    # (the response is incomplete), and this line says why.
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


def _cached(fd: int, offset: int, size: int) -> bool:
    """Whether the page cache holds the first and last byte of `size` bytes at `offset`, asked
    without waiting for the disk (RWF_NOWAIT: the kernel refuses rather than wait). Audio being
    played was usually read moments ago, and a read here costs a fraction of a reader thread's
    trip; the kernel reads ahead in runs, so the bytes between are all but always there too.
    False also where the system can't tell (a filesystem without RWF_NOWAIT)."""
    try:
        return all(os.preadv(fd, [_PROBE], at, os.RWF_NOWAIT) for at in (offset, offset + size - 1))  # fmt: skip
    except OSError:  # EAGAIN: not in the cache; EOPNOTSUPP, EINVAL: can't tell
        return False


_PROBE = bytearray(1)  # what `_cached` reads is thrown away


async def _send_pieces(send: Send, receive: Receive, chunks: AsyncGenerator[bytes]) -> None:
    """Send the body, stopping (and closing the file) as soon as the client goes away: a player
    that seeks drops its request, and the rest of the range need not be read."""
    gone = asyncio.ensure_future(_disconnected(receive))
    try:
        async for chunk in chunks:
            if gone.done():
                return
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        gone.cancel()
        await chunks.aclose()


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _send_accelerated(send: Send, opened: _Opened, *, track_id: int) -> None:
    """An empty 200 the front server fills with the file (ranges included): nginx gets the
    resolved path relative to MUSIC_ROOT (its internal location aliases the root), URL-quoted;
    Apache the absolute resolved path."""
    if settings.MEDIA_ACCEL == "nginx":
        target = (b"x-accel-redirect", (settings.MEDIA_ACCEL_LOCATION + quote(opened.relative)).encode())  # fmt: skip
    elif b"\n" in opened.real or b"\r" in opened.real:
        logger.warning(
            "Library file %s of track %s has a line break in its name", opened.file_id, track_id
        )
        await _send_bare(send, 404)
        return
    else:
        # Bytes pass through unchanged, so names that are not UTF-8 reach Apache as they are.
        target = (b"x-sendfile", opened.real)
    headers = [
        (b"content-type", CONTENT_TYPE.encode()),
        (b"content-length", b"0"),
        (b"x-content-type-options", b"nosniff"),
        target,
    ]
    # The front server says Accept-Ranges itself when it sends the file: once is enough.
    await send(_start(200, headers, accept_ranges=False))
    await send({"type": "http.response.body", "body": b""})


async def _send_bare(send: Send, status: int, headers: Headers | None = None) -> None:
    """An answer without a body (a refusal, 416, 405)."""
    bare = [(b"content-type", b"text/plain"), (b"content-length", b"0"), *(headers or [])]
    await send(_start(status, bare))
    await send({"type": "http.response.body", "body": b""})


def _start(status: int, headers: Headers, *, accept_ranges: bool = True) -> dict[str, Any]:
    headers = [*headers, (b"cache-control", b"no-store")]
    if accept_ranges:
        headers.append((b"accept-ranges", b"bytes"))
    return {"type": "http.response.start", "status": status, "headers": headers}


def _request_headers(scope: Scope) -> dict[str, str]:
    """The request's headers by lower-case name; repeated ones (cookies over HTTP/2) joined."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        if name in headers:
            value = headers[name] + ("; " if name == "cookie" else ", ") + value
        headers[name] = value
    return headers
