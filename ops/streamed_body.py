"""Django's ASGI handler, except that the requests a hook names read their body straight from the
connection instead of from a copy.

Django's `ASGIHandler` reads a whole body into a temporary file (on disk past
FILE_UPLOAD_MAX_MEMORY_SIZE) before the view runs; for a large upload, that file is one more
copy on disk than the upload itself. For the requests `streams(scope)` names (the export upload,
wired in config/asgi.py), the request's stream here pulls `http.request` messages from `receive`
as the view's parser reads it (on the view's thread, through `async_to_sync`), so the upload
handler's file is the only one written. Everything else is Django's own handling, unchanged.

Django listens for the client's disconnect while the view runs, which would take `receive` away
from the body: for a streamed request that listening starts once the body has been read."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Any

from asgiref.sync import async_to_sync
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]


class ReceivedBody:
    """A read-only file of a request's body, pulled from `receive` as it is read (blocking: on
    a thread other than the event loop's)."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._buffer = bytearray()  # taken from the front: O(1) in CPython, however large it grows
        self._more = True
        self.done = asyncio.Event()  # the last body message has arrived

    async def _next(self) -> bytes:
        message = await self._receive()
        if message["type"] == "http.disconnect":
            self._more = False
            self.done.set()
            raise RequestAborted
        self._more = bool(message.get("more_body", False))
        if not self._more:
            self.done.set()
        return bytes(message.get("body", b""))

    def read(self, size: int = -1) -> bytes:
        while self._more and (size < 0 or len(self._buffer) < size):
            self._buffer += async_to_sync(self._next)()
        if size < 0:
            size = len(self._buffer)
        piece = bytes(self._buffer[:size])
        del self._buffer[:size]
        return piece

    def readline(self, size: int = -1) -> bytes:
        while self._more and b"\n" not in self._buffer:
            self._buffer += async_to_sync(self._next)()
        end = self._buffer.find(b"\n") + 1 or len(self._buffer)
        if size >= 0:
            end = min(end, size)
        piece = bytes(self._buffer[:end])
        del self._buffer[:end]
        return piece

    def close(self) -> None:
        self._buffer.clear()


_streamed: ContextVar[ReceivedBody | None] = ContextVar("streamed_body", default=None)


class StreamingASGIHandler(ASGIHandler):
    """`ASGIHandler`, with the body of each request `streams(scope)` names read as the view reads
    it."""

    def __init__(self, *, streams: Callable[[Scope], bool]) -> None:
        super().__init__()
        self.streams = streams

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _streamed.set(ReceivedBody(receive) if self.streams(scope) else None)
        try:
            await super().handle(scope, receive, send)
        finally:
            _streamed.reset(token)

    async def read_body(self, receive: Receive) -> Any:
        return _streamed.get() or await super().read_body(receive)

    async def listen_for_disconnect(self, receive: Receive) -> None:
        if (body := _streamed.get()) is not None:
            await body.done.wait()
        await super().listen_for_disconnect(receive)
