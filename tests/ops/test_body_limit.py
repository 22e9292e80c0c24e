"""ops.body_limit with a fake application and client, and the rate limit's peek; the same through
the real web server is in test_body_limit_http.py."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.http import HttpRequest

from ops.body_limit import BodyLimit, Refusal, Scope
from ops.ratelimits import limited, limited_next
from scrobbler.models import User

Message = dict[str, Any]


def scope(*headers: tuple[bytes, bytes]) -> Scope:
    return {"type": "http", "method": "POST", "path": "/x", "headers": list(headers)}


def run(middleware: BodyLimit, scope: Scope, pieces: list[bytes]) -> tuple[list[Message], int]:
    """Calls `middleware`; returns what it sent and how many body pieces were taken."""
    sent: list[Message] = []
    taken = 0

    async def receive() -> Message:
        nonlocal taken
        taken += 1
        more = taken < len(pieces)
        return {"type": "http.request", "body": pieces[taken - 1], "more_body": more}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(middleware(scope, receive, send))
    return sent, taken


async def reader(scope: Scope, receive: Any, send: Any) -> None:
    """An application that reads the whole body, then answers 200 with its length."""
    size, more = 0, True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})


def test_a_content_length_past_the_limit_is_refused_without_reading() -> None:
    sent, taken = run(BodyLimit(reader, limit=10), scope((b"content-length", b"11")), [b"x" * 11])
    assert (sent[0]["status"], taken) == (413, 0)
    assert (b"connection", b"close") in sent[0]["headers"]


def test_a_body_within_the_limit_reaches_the_application() -> None:
    sent, _ = run(BodyLimit(reader, limit=10), scope(), [b"x" * 5, b"x" * 5])
    assert (sent[0]["status"], sent[1]["body"]) == (200, b"10")


def test_a_body_without_a_length_stops_at_the_piece_that_passes_the_limit() -> None:
    sent, taken = run(BodyLimit(reader, limit=10), scope(), [b"x" * 6] * 100)
    assert (sent[0]["status"], taken) == (413, 2)


def test_the_allowance_raises_the_limit_or_refuses_before_reading() -> None:
    async def larger(scope: Scope) -> int:
        return 100

    async def refuse(scope: Scope) -> Refusal:
        return Refusal(429, b"later", [(b"retry-after", b"5")])

    long = scope((b"content-length", b"50"))
    assert (
        run(BodyLimit(reader, limit=10, allowance=larger), long, [b"x" * 50])[0][1]["body"] == b"50"
    )
    sent, taken = run(BodyLimit(reader, limit=10, allowance=refuse), long, [b"x" * 50])
    assert (sent[0]["status"], taken) == (429, 0)
    assert (b"retry-after", b"5") in sent[0]["headers"]


def test_the_allowance_is_not_asked_about_a_body_within_the_default_limit() -> None:
    async def never(scope: Scope) -> None:
        raise AssertionError("asked")

    sent, _ = run(
        BodyLimit(reader, limit=10, allowance=never), scope((b"content-length", b"3")), [b"abc"]
    )
    assert sent[0]["status"] == 200


@pytest.mark.django_db
def test_peeking_at_a_rate_limit_does_not_count(alice: User) -> None:
    request = HttpRequest()
    request.user = alice
    rate = {"group": "peek", "key": "user", "rate": "2/h"}
    assert [limited_next(request, **rate) for _ in range(5)] == [None] * 5
    assert limited(request, **rate) is None
    assert limited_next(request, **rate) is None
    assert limited(request, **rate) is None
    assert limited_next(request, **rate)  # a third would be refused
    assert limited(request, **rate)


async def refuser(scope: Scope, receive: Any, send: Any) -> None:
    """An application that answers 403 without reading the body."""
    await send({"type": "http.response.start", "status": 403, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def test_an_answer_before_the_body_was_read_closes_the_connection() -> None:
    # Else uvicorn reads (and discards) the rest of the body to keep the connection.
    sent, taken = run(BodyLimit(refuser, limit=10), scope(), [b"x" * 5] * 100)
    assert (sent[0]["status"], taken) == (403, 0)
    assert (b"connection", b"close") in sent[0]["headers"]
    read, _ = run(BodyLimit(reader, limit=10), scope(), [b"x" * 5, b"x" * 5])
    assert (b"connection", b"close") not in read[0]["headers"]
    get = {**scope(), "method": "GET"}
    assert (b"connection", b"close") not in run(BodyLimit(refuser, limit=10), get, [b""])[0][0][
        "headers"
    ]
