"""Request bodies are limited before anything reads them, through the real web server as the
Procfile runs it (ops/body_limit.py, imports/upload_limit.py). Each refusal is checked from the
attacker's side by what it cost: how many bytes the server process read (`rchar` of
/proc/<pid>/io, every read(2) it made, the socket's included) while the client offered a body far
larger than the limit."""

from __future__ import annotations

import json
import re
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from imports.models import Import
from tests.conftest import PASSWORD
from tests.playback.test_media_http import member
from tests.processes import csrf_token, process_env, sign_in, web_process

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LIMIT = 256 * 1024  # REQUEST_MAX_BODY_KB=256 for these servers
OFFERED = 48 * 2**20  # far past it, and past the socket buffers of both ends
# What the server may read beyond the limit: uvicorn reads the socket in 64 KiB pieces and keeps
# reading until its buffer is full before it pauses, plus the odd file read of its own.
SLACK = 512 * 1024
CHUNK = 64 * 1024


@dataclass
class Server:
    base: str
    pid: int
    port: int
    tmp: Path
    data: Path

    def rchar(self) -> int:
        text = Path(f"/proc/{self.pid}/io").read_text()
        match = re.search(r"^rchar: (\d+)$", text, re.MULTILINE)
        assert match
        return int(match[1])


@pytest.fixture
def server(tmp_path: Path, static_root: Path) -> Iterator[Server]:
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = process_env(tmp_path, static_root, REQUEST_MAX_BODY_KB="256", TMPDIR=str(temp))
    with web_process(env, tmp_path / "web.log") as (proc, base):
        yield Server(base, proc.pid, int(base.rsplit(":", 1)[1]), temp, tmp_path)


@dataclass
class Exchange:
    status: int
    head: str
    sent: int  # body bytes the client got into the connection before it was refused or done
    read: int  # bytes the server process read meanwhile


def exchange(server: Server, head: str, body: Iterator[bytes]) -> Exchange:
    """Sends `head` then offers `body` (on a thread, until the server stops taking it), while
    reading the answer; the server's reads are counted from before the head to after the end."""
    before = server.rchar()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sent = 0

    def offer() -> None:
        nonlocal sent
        try:
            for piece in body:
                sock.sendall(piece)
                sent += len(piece)
        except OSError:
            pass  # refused: the server closed (or stopped reading and the send timed out)

    sock.sendall(head.encode("latin-1"))
    sender = threading.Thread(target=offer)
    sender.start()
    answer = b""
    try:
        while b"\r\n\r\n" not in answer:
            piece = sock.recv(65536)
            if not piece:
                break
            answer += piece
    finally:
        sender.join(timeout=30)
        sock.close()
    read = server.rchar() - before
    status = int(answer.split(b" ", 2)[1]) if answer else 0
    return Exchange(status, answer.decode("latin-1"), sent, read)


def plain(total: int) -> Iterator[bytes]:
    piece = b"x" * CHUNK
    for _ in range(total // CHUNK):
        yield piece


def chunked(total: int) -> Iterator[bytes]:
    for piece in plain(total):
        yield b"%x\r\n%s\r\n" % (len(piece), piece)
    yield b"0\r\n\r\n"


def post_head(server: Server, path: str, *headers: str) -> str:
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}", *headers]
    return "\r\n".join(lines) + "\r\n\r\n"


def test_an_anonymous_body_past_its_content_length_limit_is_refused_unread(server: Server) -> None:
    head = post_head(server, "/healthz", f"Content-Length: {OFFERED}")
    answer = exchange(server, head, plain(OFFERED))
    assert answer.status == 413
    assert answer.read < SLACK  # none of it was needed: the length said enough
    assert answer.sent < OFFERED


def test_a_chunked_body_is_read_up_to_the_limit_and_no_further(server: Server) -> None:
    head = post_head(server, "/healthz", "Transfer-Encoding: chunked")
    answer = exchange(server, head, chunked(OFFERED))
    assert answer.status == 413
    assert LIMIT < answer.read < LIMIT + SLACK
    assert answer.sent < OFFERED


def test_a_false_small_content_length_gets_no_more_than_it_says(server: Server) -> None:
    head = post_head(server, "/healthz", "Content-Length: 100")
    answer = exchange(server, head, plain(OFFERED))
    # The rest is not this request's body: uvicorn reads it as the next request, which is not one.
    assert answer.status in (400, 403, 405)
    assert answer.read < SLACK
    assert answer.sent < OFFERED


def test_an_anonymous_upload_is_refused_before_its_body_is_read(server: Server) -> None:
    head = post_head(
        server, "/imports/", f"Content-Length: {OFFERED}", "Content-Type: multipart/form-data"
    )
    answer = exchange(server, head, plain(OFFERED))
    assert answer.status == 413
    assert answer.read < SLACK


def upload_body(boundary: str, token: str, name: str, content: bytes) -> bytes:
    return b"".join(
        [
            f"--{boundary}\r\n".encode(),
            b'Content-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n',
            token.encode(),
            f"\r\n--{boundary}\r\n".encode(),
            f'Content-Disposition: form-data; name="files"; filename="{name}"\r\n'.encode(),
            b"Content-Type: application/json\r\n\r\n",
            content,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )


def upload_head(server: Server, cookies: str, boundary: str, length: int) -> str:
    return post_head(
        server,
        "/imports/",
        f"Content-Length: {length}",
        f"Content-Type: multipart/form-data; boundary={boundary}",
        f"Cookie: {cookies}",
        f"Origin: http://127.0.0.1:{server.port}",
        f"Referer: http://127.0.0.1:{server.port}/imports/",
    )


# A real export's records (the shape of Spotify's endsong_N.json), padded past the default limit.
RECORD = {
    "ts": "2024-03-01T12:00:00Z",
    "ms_played": 200_000,
    "master_metadata_track_name": "Hyperballad",
    "master_metadata_album_artist_name": "Björk",
    "master_metadata_album_album_name": "Post",
    "spotify_track_uri": "spotify:track:6aNTWGdX6PkVLhM1SXsBHB",
}


def test_a_signed_in_upload_within_the_rate_is_written_once_and_imported(server: Server) -> None:
    alice = member("alice")
    client = sign_in(server.base, "alice", PASSWORD)
    client.get("/imports/")
    cookies = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    content = json.dumps([RECORD] * 3000, indent=1).encode()
    assert LIMIT < len(content) < 4 * LIMIT
    boundary = uuid.uuid4().hex
    body = upload_body(boundary, csrf_token(client), "endsong_0.json", content)
    head = upload_head(server, cookies, boundary, len(body))
    answer = exchange(server, head, iter([body]))
    assert answer.status == 302, answer.head
    assert "/imports/" in answer.head
    imp = Import.objects.get(user=alice)
    stored = [p for p in (server.data / "imports").rglob("*") if p.is_file()]
    assert [p.read_bytes() for p in stored] == [content]
    assert str(imp.public_id) in str(stored[0])
    # Nothing else was written: no copy of the body, no upload handler's file elsewhere.
    assert list(server.tmp.iterdir()) == []
    assert list((server.data / "imports" / "incoming").iterdir()) == []


# One upload an hour, spelt afresh each run: with REDIS_URL the server counts in Redis, which
# outlives the test database (whose user ids come round again), and the rate is part of the key.
RATE = f"1/{3600 + uuid.uuid4().int % 3600}s"


def test_a_signed_in_upload_past_the_rate_is_refused_before_its_body_is_read(
    tmp_path: Path, static_root: Path
) -> None:
    alice = member("alice")
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = process_env(
        tmp_path, static_root, REQUEST_MAX_BODY_KB="256", TMPDIR=str(temp), IMPORT_UPLOAD_RATE=RATE
    )
    with web_process(env, tmp_path / "web.log") as (proc, base):
        server = Server(base, proc.pid, int(base.rsplit(":", 1)[1]), temp, tmp_path)
        client = sign_in(base, "alice", PASSWORD)
        client.get("/imports/")
        cookies = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        boundary = uuid.uuid4().hex
        first = upload_body(boundary, csrf_token(client), "endsong_0.json", b"[]")
        counted = exchange(
            server, upload_head(server, cookies, boundary, len(first)), iter([first])
        )
        assert counted.status == 302
        head = upload_head(server, cookies, boundary, OFFERED)
        answer = exchange(server, head, plain(OFFERED))
        assert answer.status == 429
        assert re.search(r"(?i)^retry-after: [1-9]", answer.head, re.MULTILINE)
        assert answer.read < SLACK
        assert Import.objects.filter(user=alice).count() == 1
