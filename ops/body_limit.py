"""A limit on request bodies, in front of everything else (config/asgi.py).

Django's ASGI handler reads a whole request body (spooling it to a temporary file) before any
view, sign-in check, CSRF check or rate limit runs, and uvicorn has no limit of its own: without
this, anyone could make the server write a gigabyte to disk. `BodyLimit` answers 413 from
`Content-Length` without reading any of the body, and when the length is absent (chunked) or
false it counts the bytes as the application reads them and stops at the limit.

Every request gets the default limit (REQUEST_MAX_BODY_KB) unless `allowance`, a hook the wiring
supplies, grants it a larger one: the export upload, for a signed-in user within the upload rate
limit. The hook runs before any body is read and may refuse outright (a 429 with Retry-After).
It is only asked when the body might be over the default limit.

Any answer given before the whole body was read (these refusals, and a view's own, like the
upload page's CSRF or rate-limit refusals) closes the connection: uvicorn would otherwise read and
discard the rest of the body to keep the connection for another request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

TOO_LARGE = b"Request body too large.\n"
CLOSE = (b"connection", b"close")


@dataclass(frozen=True)
class Refusal:
    """An answer sent instead of reading the body."""

    status: int
    body: bytes
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)


# What `allowance` says of a request: a larger limit in bytes, a refusal, or None (the default).
Allowance = Callable[[Scope], Awaitable[int | Refusal | None]]


class BodyTooLarge(Exception):
    """Raised from `receive` once the body has passed the limit."""


def content_length(scope: Scope) -> int | None:
    """The request's Content-Length, or None if it has none (or an unreadable one: uvicorn
    refuses those before the application is called)."""
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimit:
    """ASGI middleware: HTTP request bodies up to `limit` bytes, or what `allowance` grants."""

    def __init__(self, app: App, *, limit: int, allowance: Allowance | None = None) -> None:
        self.app = app
        self.limit = limit
        self.allowance = allowance

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit
        length = content_length(scope)
        if self.allowance is not None and (length is None or length > limit):
            granted = await self.allowance(scope)
            if isinstance(granted, Refusal):
                await _answer(send, granted)
                return
            if granted is not None:
                limit = granted
        if length is not None and length > limit:
            await _answer(send, Refusal(413, TOO_LARGE))
            return

        received = 0
        read_whole = False
        responding = False

        async def limited_receive() -> Message:
            nonlocal received, read_whole
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
                read_whole = not message.get("more_body", False)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal responding
            if message["type"] == "http.response.start":
                responding = True
                if not read_whole and scope.get("method") not in ("GET", "HEAD"):
                    # Answered before the body was read (a refusal): the rest is never wanted.
                    message = {**message, "headers": [*message["headers"], CLOSE]}
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge:
            # Past the limit the application stops where it is; if it had begun an answer, the
            # server ends the connection (the application returned without finishing it).
            if not responding:
                await _answer(send, Refusal(413, TOO_LARGE))


async def _answer(send: Send, refusal: Refusal) -> None:
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(refusal.body)).encode()),
        (b"cache-control", b"no-store"),
        # The body is left unread: without this, uvicorn would read the rest of it to keep the
        # connection for another request.
        CLOSE,
        *refusal.headers,
    ]
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": refusal.body})
