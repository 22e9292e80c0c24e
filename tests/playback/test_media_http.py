"""The media endpoint over real HTTP (uvicorn): byte-exact ranges, refusals from the attacker's
side (others' tokens, stale tokens, hostile paths), the front-server hand-offs, and memory."""

from __future__ import annotations

import hashlib
import http.client
import os
import time
from contextlib import closing, suppress
from pathlib import Path
from unittest import mock

import httpx
import pytest
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playback.media import Partial, byte_ranges
from playback.models import Device, LibraryFile, PlaybackSession
from playback.tokens import media_token
from scrobbler.models import Track, User
from tests.conftest import PASSWORD
from tests.factories import TrackFactory, UserFactory
from tests.playback.flac import flac_write
from tests.playback.test_media_ranges import multipart_parts
from tests.processes import free_port, process_env, sign_in, web_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SECRET = b"top secret bytes, never to be served"
ALWAYS = {"accept-ranges": "bytes", "cache-control": "no-store"}
few = settings(
    max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


def member(username: str) -> User:
    """A user the real server (default password hashers) can sign in."""
    user = UserFactory.create(username=username)
    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])
    return user


def speaker(user: User, client_id: str = "phone") -> PlaybackSession:
    """The user's session, with a device of theirs as the active speaker."""
    device = Device.objects.create(
        user=user, client_id=client_id, name=client_id, last_seen=timezone.now()
    )
    session, _ = PlaybackSession.objects.update_or_create(
        user=user, defaults={"active_device": device, "changed_at": timezone.now()}
    )
    return session


def catalogued(
    relative: bytes, *, root: Path, error: str = "", track: Track | None = None
) -> Track:
    """A catalog track (new unless given) with `relative` as a library file, as the scanner
    would store it."""
    track = track or TrackFactory.create()
    on_disk = root / os.fsdecode(relative)
    LibraryFile.objects.create(
        path=relative,
        path_key=hashlib.sha1(relative).hexdigest(),  # noqa: S324 - a key, not security
        display_path=relative.decode("utf-8", "replace"),
        size=on_disk.stat().st_size if on_disk.is_file() else 0,
        mtime_ns=0,
        scanned_at=timezone.now(),
        track=track,
        error=error,
    )
    return track


def url(track_id: int, token: str | None) -> str:
    return f"/media/tracks/{track_id}" + ("" if token is None else f"?token={token}")


def assert_always(response: httpx.Response) -> None:
    for name, value in ALWAYS.items():
        assert response.headers.get(name) == value, (response.status_code, name)


def comparable(headers: httpx.Headers) -> dict[str, str]:
    """The headers that must not differ between two requests (the date and id of each do)."""
    return {name: value for name, value in headers.items() if name not in ("date", "x-request-id")}


def raw_headers(response: httpx.Response) -> dict[bytes, bytes]:
    """The response's headers as sent: values undecoded (paths need not be UTF-8), names in
    lower case (HTTP ignores their case, and servers differ in it)."""
    return {name.lower(): value for name, value in response.headers.raw}


def web_server_pid(port: int) -> int:
    """The web server (uvicorn) process listening on `port`."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(arg.endswith(b"uvicorn") for arg in cmdline) and str(port).encode() in cmdline:
            return int(pid)
    raise AssertionError("no web server process found")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def open_files(pid: int, path: Path) -> int:
    """How many descriptors the process has open on `path`."""
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with suppress(OSError):
            count += os.readlink(fd) == str(path)
    return count


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """MUSIC_ROOT with a 20 s FLAC (a non-UTF-8 folder name), and secrets around it."""
    root = tmp_path / "music"
    # libsndfile cannot open names that are not UTF-8: written elsewhere, then moved.
    (root / os.fsdecode(b"Caf\xe9")).mkdir(parents=True)
    flac_write(tmp_path / "song.flac", seconds=20, seed=1).rename(
        root / os.fsdecode(b"Caf\xe9/01 Song.flac")
    )
    (tmp_path / "secret.flac").write_bytes(SECRET)
    (tmp_path / "music-private").mkdir()
    (tmp_path / "music-private" / "x.flac").write_bytes(SECRET)
    (root / "escape.flac").symlink_to(tmp_path / "secret.flac")
    return root


def test_media_over_http(tmp_path: Path, static_root: Path, library: Path) -> None:
    alice_user, bob_user = member("alice"), member("bob")
    alice_session, bob_session = speaker(alice_user), speaker(bob_user)
    song = (library / os.fsdecode(b"Caf\xe9/01 Song.flac")).read_bytes()
    size = len(song)
    track = catalogued(b"Caf\xe9/01 Song.flac", root=library)
    token = media_token(alice_session, track.pk)

    env = process_env(tmp_path, static_root, MUSIC_ROOT=str(library))
    port = free_port()
    with (
        web_server(env, tmp_path / "web.log", port=port) as base,
        closing(sign_in(base, "alice", PASSWORD)) as alice,
        closing(sign_in(base, "bob", PASSWORD)) as bob,
        httpx.Client(base_url=base, timeout=10) as anonymous,
    ):
        # The whole file, and HEAD saying the same without a body.
        whole = alice.get(url(track.pk, token))
        assert whole.status_code == 200
        assert whole.content == song
        assert whole.headers["content-type"] == "audio/flac"
        assert whole.headers["content-length"] == str(size)
        assert whole.headers["x-content-type-options"] == "nosniff"
        assert "content-range" not in whole.headers
        assert_always(whole)
        head = alice.head(url(track.pk, token))
        assert head.status_code == 200
        assert head.content == b""
        assert comparable(head.headers) == comparable(whole.headers)
        # Range applies to GET only (RFC 9110 section 14.2): HEAD describes the whole file.
        assert alice.head(url(track.pk, token), headers={"Range": "bytes=0-9"}).status_code == 200

        # Single ranges, byte for byte.
        @few
        @given(first=st.integers(0, size + 1000), length=st.integers(1, size + 1000))
        def single_range(first: int, length: int) -> None:
            last = first + length - 1
            response = alice.get(url(track.pk, token), headers={"Range": f"bytes={first}-{last}"})
            assert_always(response)
            if first >= size:
                assert response.status_code == 416
                assert response.headers["content-range"] == f"bytes */{size}"
                assert response.content == b""
                return
            end = min(last, size - 1)
            assert response.status_code == 206
            assert response.headers["content-range"] == f"bytes {first}-{end}/{size}"
            assert response.headers["content-length"] == str(end - first + 1)
            assert response.content == song[first : end + 1]

        single_range()

        for header, start in [(f"bytes={size - 10}-", size - 10), ("bytes=0-", 0)]:
            response = alice.get(url(track.pk, token), headers={"Range": header})
            assert response.status_code == 206
            assert response.content == song[start:]
            assert response.headers["content-range"] == f"bytes {start}-{size - 1}/{size}"
        for suffix in (1, 1000, size, size * 2):
            response = alice.get(url(track.pk, token), headers={"Range": f"bytes=-{suffix}"})
            assert response.status_code == 206
            assert response.content == song[-suffix:]

        # Several ranges: multipart/byteranges, parsed back and compared with the file.
        @few
        @given(
            pairs=st.lists(
                st.tuples(st.integers(0, size - 1), st.integers(0, 300_000)),
                min_size=2,
                max_size=6,
            )
        )
        def several_ranges(pairs: list[tuple[int, int]]) -> None:
            header = "bytes=" + ",".join(f"{first}-{first + length}" for first, length in pairs)
            expected = byte_ranges(header, size, max_ranges=16)
            assert isinstance(expected, Partial)
            response = alice.get(url(track.pk, token), headers={"Range": header})
            assert response.status_code == 206
            assert_always(response)
            assert response.headers["content-length"] == str(len(response.content))
            if len(expected.ranges) == 1:  # overlapping ranges came together: a single part
                (only,) = expected.ranges
                assert response.headers["content-range"] == only.content_range(size)
                assert response.content == song[only.start : only.end + 1]
                return
            media_type, _, boundary = response.headers["content-type"].partition("; boundary=")
            assert media_type == "multipart/byteranges"
            parts = multipart_parts(response.content, boundary)
            assert [fields["Content-Range"] for fields, _ in parts] == [
                r.content_range(size) for r in expected.ranges
            ]
            for (fields, data), r in zip(parts, expected.ranges, strict=True):
                assert fields["Content-Type"] == "audio/flac"
                assert data == song[r.start : r.end + 1]

        several_ranges()
        overlapping = alice.get(url(track.pk, token), headers={"Range": "bytes=0-99,50-199,-5"})
        parts = multipart_parts(
            overlapping.content, overlapping.headers["content-type"].split("boundary=")[1]
        )
        assert [data for _, data in parts] == [song[:200], song[-5:]]

        # Unsatisfiable and refused ranges.
        too_many = "bytes=" + ",".join(f"{n * 10}-{n * 10 + 1}" for n in range(17))
        for header in (f"bytes={size}-", f"bytes={size + 5}-{size + 10}", "bytes=-0", too_many):
            response = alice.get(url(track.pk, token), headers={"Range": header})
            assert response.status_code == 416, header
            assert response.headers["content-range"] == f"bytes */{size}"
            assert_always(response)
        # Garbage: the whole file.
        for header in ("bytes=abc", "bytes=5-1", "items=0-10", "bytes=\u0663-5"):
            response = alice.get(url(track.pk, token), headers={b"Range": header.encode()})
            assert response.status_code == 200
            assert response.content == song
        # If-Range can never match validators this endpoint does not send: the whole file.
        response = alice.get(
            url(track.pk, token), headers={"Range": "bytes=0-9", "If-Range": '"x"'}
        )
        assert response.status_code == 200

        for method in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH"):
            response = alice.request(method, url(track.pk, token))
            assert response.status_code == 405, method
            assert response.headers["allow"] == "GET, HEAD"
            assert_always(response)

        # Tokens, from the attacker's side.
        forbidden = anonymous.get(url(track.pk, token))
        assert forbidden.status_code == 403
        assert_always(forbidden)
        assert bob.get(url(track.pk, token)).status_code == 403  # alice's token
        assert bob.get(url(track.pk, media_token(bob_session, track.pk))).status_code == 200
        flac_write(library / "other.flac", seconds=1, seed=2)
        track_b = catalogued(b"other.flac", root=library)
        assert alice.get(url(track_b.pk, token)).status_code == 403  # a token for track A
        assert alice.get(url(track_b.pk, media_token(alice_session, track_b.pk))).status_code == 200
        now = time.time()
        with mock.patch("django.core.signing.time.time", return_value=now - 3600):
            expired = media_token(alice_session, track.pk)
        assert alice.get(url(track.pk, expired)).status_code == 403
        with mock.patch("django.core.signing.time.time", return_value=now - 60):
            assert alice.get(url(track.pk, media_token(alice_session, track.pk))).status_code == 200
        refusals = [
            alice.get(url(track.pk, bad))
            for bad in (None, "", "garbage", token + "x", token[:-1], "é" * 50, token.upper())
        ]
        refusals += [alice.get(url(999_999, token)), alice.get(url(999_999, "garbage"))]
        refusals += [anonymous.get(url(999_999, token)), bob.get(url(999_999, token))]
        for response in refusals:
            assert response.status_code == 403
            assert response.content == forbidden.content  # nothing says whether tracks exist
            assert comparable(response.headers) == comparable(forbidden.headers)

        # Rotation: another speaker (or the same one again) stops earlier tokens.
        tablet = Device.objects.create(
            user=alice_user, client_id="tablet", name="Tablet", last_seen=timezone.now()
        )
        PlaybackSession.objects.filter(pk=alice_session.pk).update(active_device=tablet)
        assert alice.get(url(track.pk, token)).status_code == 403  # the phone is not active
        PlaybackSession.objects.filter(pk=alice_session.pk).update(
            active_device=alice_session.active_device, speaker_generation=1
        )
        assert alice.get(url(track.pk, token)).status_code == 403  # minted for generation 0
        alice_session.refresh_from_db()
        token = media_token(alice_session, track.pk)
        assert alice.get(url(track.pk, token), headers={"Range": "bytes=0-3"}).content == b"fLaC"

        # Files: only readable ones, only inside MUSIC_ROOT, looked up by track id alone.
        (library / "broken.flac").write_bytes(b"not a FLAC file")
        unreadable = catalogued(b"broken.flac", root=library, error="not a FLAC file")
        missing = catalogued(b"gone.flac", root=library)
        folder = catalogued(b"Caf\xe9", root=library)
        no_file = TrackFactory.create()
        for absent in (unreadable, missing, folder, no_file):
            response = alice.get(url(absent.pk, media_token(alice_session, absent.pk)))
            assert response.status_code == 404
            assert_always(response)
        flac_write(library / "copy.flac", seconds=1, seed=4)
        flac_write(library / "later copy.flac", seconds=1, seed=5)
        catalogued(b"copy.flac", root=library, track=unreadable)
        catalogued(b"later copy.flac", root=library, track=unreadable)
        response = alice.get(url(unreadable.pk, media_token(alice_session, unreadable.pk)))
        assert response.content == (library / "copy.flac").read_bytes()  # the first readable one
        hostile = [
            b"../secret.flac",
            os.fsencode(tmp_path / "secret.flac"),
            b"/etc/passwd",
            b"..%2Fsecret.flac",  # a name inside the root (no such file): never URL-decoded
            b"escape.flac",  # a symlink out of the root
            b"../music-private/x.flac",  # a sibling sharing the root's name as a prefix
            b"Caf\xe9/../../secret.flac",
        ]
        passwd = Path("/etc/passwd").read_bytes()[:20]
        for relative in hostile:
            bad = catalogued(relative, root=library)
            response = alice.get(url(bad.pk, media_token(alice_session, bad.pk)))
            assert response.status_code == 404, relative
            assert SECRET not in response.content
            assert passwd not in response.content
            assert_always(response)
        # Paths in the address never reach the endpoint as paths.
        cookie = f"sessionid={alice.cookies['sessionid']}"
        for target in (
            f"/media/tracks/..%2F..%2Fetc%2Fpasswd?token={token}",
            f"/media/tracks/{track_b.pk}/../{track.pk}?token={token}",
            f"/media/tracks/{track.pk}/../../../etc/passwd?token={token}",
            f"/media/tracks/{track.pk}%2F..%2Fsecret.flac?token={token}",
        ):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", target, headers={"Cookie": cookie})
            raw = connection.getresponse()
            body = raw.read()
            connection.close()
            assert raw.status in (403, 404), target
            assert SECRET not in body
            assert passwd not in body
            assert song[:1000] not in body

        # A big file streams without the server holding it in memory.
        flac_write(library / "big.flac", seconds=180, seed=3)
        big = catalogued(b"big.flac", root=library)
        big_size = (library / "big.flac").stat().st_size
        big_url = url(big.pk, media_token(alice_session, big.pk))
        alice.get(big_url, headers={"Range": "bytes=0-1000"})  # warm up the code path
        pid = web_server_pid(port)
        before = rss_kib(pid)
        digest = hashlib.sha256()
        received = 0
        with alice.stream("GET", big_url) as stream:
            for chunk in stream.iter_bytes():
                digest.update(chunk)
                received += len(chunk)
            after = rss_kib(pid)
        assert received == big_size
        assert digest.digest() == hashlib.sha256((library / "big.flac").read_bytes()).digest()
        assert after - before < 16 * 1024, (
            f"the server grew by {after - before} KiB for {big_size} B"
        )
        # Clients that leave mid-stream leave no file open behind them.
        for _ in range(3):
            with alice.stream("GET", big_url) as stream:
                next(stream.iter_raw())
        deadline = time.monotonic() + 10
        while open_files(pid, library / "big.flac") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert open_files(pid, library / "big.flac") == 0

    warnings = [
        line
        for line in (tmp_path / "web.log").read_text(errors="replace").splitlines()
        if "playback.media_app" in line
    ]
    assert sum("leads outside MUSIC_ROOT" in line for line in warnings) == len(hostile) - 1
    assert not [line for line in warnings if "secret" in line or "passwd" in line]


def test_front_servers_get_the_file_to_send(
    tmp_path: Path, static_root: Path, library: Path
) -> None:
    alice = member("alice")
    session = speaker(alice)
    relative = b"Caf\xe9/01 Song.flac"
    track = catalogued(relative, root=library)
    (library / "Best of").mkdir()
    (library / "Best of" / "a & b?.flac").symlink_to(library / os.fsdecode(relative))
    linked = catalogued(b"Best of/a & b?.flac", root=library)
    escape = catalogued(b"escape.flac", root=library)

    for accel in ("nginx", "apache"):
        env = process_env(tmp_path, static_root, MUSIC_ROOT=str(library), MEDIA_ACCEL=accel)
        with web_server(env, tmp_path / f"web-{accel}.log") as base:
            client = sign_in(base, "alice", PASSWORD)
            for method in ("GET", "HEAD"):
                response = client.request(
                    method,
                    url(track.pk, media_token(session, track.pk)),
                    headers={"Range": "bytes=0-9"},
                )
                assert response.status_code == 200
                assert response.content == b""
                assert response.headers["content-type"] == "audio/flac"
                assert response.headers["x-content-type-options"] == "nosniff"
                assert response.headers["cache-control"] == "no-store"
                # The front server adds Accept-Ranges as it sends the file; twice would be noise.
                assert "accept-ranges" not in response.headers
                raw = raw_headers(response)
                if accel == "nginx":
                    assert raw[b"x-accel-redirect"] == b"/internal-media/Caf%E9/01%20Song.flac"
                else:
                    assert raw[b"x-sendfile"] == os.path.realpath(
                        library / os.fsdecode(relative)
                    ).encode("utf-8", "surrogateescape")
            # A symlink inside the root is handed over resolved.
            response = client.get(url(linked.pk, media_token(session, linked.pk)))
            raw = raw_headers(response)
            if accel == "nginx":
                assert raw[b"x-accel-redirect"] == b"/internal-media/Caf%E9/01%20Song.flac"
            else:
                assert raw[b"x-sendfile"] == os.path.realpath(
                    library / os.fsdecode(relative)
                ).encode("utf-8", "surrogateescape")
            # The same checks as without a front server.
            refused = client.get(url(track.pk, "garbage"))
            assert refused.status_code == 403
            assert "x-accel-redirect" not in refused.headers
            assert "x-sendfile" not in refused.headers
            outside = client.get(url(escape.pk, media_token(session, escape.pk)))
            assert outside.status_code == 404
            assert "x-accel-redirect" not in outside.headers
            assert "x-sendfile" not in outside.headers
            client.close()
