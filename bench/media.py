"""How fast the media endpoint serves audio bytes: Django streaming them itself, Django handing them
to nginx (X-Accel-Redirect), and plain nginx serving the same files as static files.

Writes --files FLAC files of noise (incompressible, so sizes are real: about 10 MB a minute), some
with awkward names (spaces, ?, %, #, accents, bytes that are not UTF-8), stores them as library
files of tracks, signs a user in over HTTP, mints a media token per track and starts:

- nginx: plain nginx serving MUSIC_ROOT as static files, from a public copy of
  deploy/nginx/encore.conf's internal media location (sendfile, tcp_nopush): the baseline;
- direct: uvicorn serving config.asgi with MEDIA_ACCEL unset, clients talking to it directly;
- offloaded: deploy/nginx/encore.conf (its TLS dropped, its paths rendered for this run) in front
  of uvicorn with MEDIA_ACCEL=nginx.

uvicorn runs --web-processes worker processes (one by default: what the embedded defaults
support, an in-memory realtime layer and SQLite) sharing one socket. nginx runs two workers
(`auto` on two cores). Client processes (--client-processes) run --readers readers between them, each reading like a browser's audio element: mostly open-ended `bytes=N-` ranges
(from the start or a seek point) read to the end or dropped after 1 to 4 MB (a seek), the rest
bounded 256 KiB to 2 MiB ranges. After a warm-up each target is measured for --duration seconds,
--repeat times, the targets taking turns; every --verify-every'th response is compared with the
file byte for byte. It prints MB/s of body bytes, requests/s, time to first byte (request sent to
first body byte), the cores used by the server and by the clients, the machine's other busy
cores (other people's work: a run with much of it is noise) and its idle ones, and whether the
targets are met: direct >= 50% and offloaded >= 90% of plain nginx's MB/s.

Clients and servers share this machine's cores: a client busy with one core is a core the server
cannot have, which is why the client's CPU is printed beside each figure. The uvicorn pids are
printed for a profiler (py-spy record --nonblocking --pid PID); --keep keeps files and logs.

    .venv/bin/python bench/media.py --quick
    .venv/bin/python bench/media.py
    .venv/bin/python bench/media.py --targets direct --duration 60 --repeat 1  # e.g. to profile

With DATABASE_URL on PostgreSQL the named database is dropped and created anew; without it a
temporary SQLite file is used. Needs nginx on PATH (Debian: apt-get install nginx); the system's
nginx service is not used.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import mmap
import os
import pwd
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from playback.models import PlaybackSession

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    ROOT,
    arguments,
    bench_environment,
    django_migrate,
    peak_rss_mb,
    percentile,
    scratch,
    web_server,
)

NGINX_SITE = ROOT / "deploy" / "nginx" / "encore.conf"
KIB, MIB = 1 << 10, 1 << 20
TARGETS = ("nginx", "direct", "offloaded")
GOALS = {"direct": 0.5, "offloaded": 0.9}  # share of plain nginx's MB/s
USERNAME, PASSWORD = "listener", "bench-password-1234"
# Names that need quoting in URLs and X-Accel-Redirect; the last is not UTF-8.
AWKWARD_NAMES = [
    "Björk & Friends/Live at 50% #2/01 Who? Me.flac".encode(),
    b"Caf\xe9 Noir/02 \xff\xfe raw bytes.flac",
]


# --- nginx configuration ---------------------------------------------------------------------


def nginx_site_render(
    *,
    upstream: str,
    music_root: Path,
    static_root: Path,
    log_dir: Path,
    listen: str,
    tls: tuple[str, Path, Path] | None = None,
) -> str:
    """deploy/nginx/encore.conf with this machine's values in place of its placeholders: uvicorn
    at `upstream`, the internal media location aliasing `music_root`, /static/ `static_root`,
    logs in `log_dir`. With `tls` = (address, certificate, key) the site listens on that address
    and the redirect server on `listen`, as deployed; without, the redirect server goes and the
    site listens on `listen` without TLS. IPv6 listens go."""
    text = NGINX_SITE.read_text()

    def once(pattern: str, new: str) -> None:
        nonlocal text
        text, count = re.subn(pattern, lambda _: new, text, flags=re.MULTILINE | re.DOTALL)
        if count != 1:
            raise ValueError(f"deploy/nginx/encore.conf: {pattern!r} found {count} times")

    once(r"^( +)server 127\.0\.0\.1:8000;", f"    server {upstream};")
    once(r"alias /mnt/Music/;", f"alias {music_root}/;")
    once(r"alias /srv/encore/var/static/;", f"alias {static_root}/;")
    text = text.replace("/var/log/nginx/encore.", f"{log_dir}/")
    text = re.sub(r"^ *listen \[::\].*\n", "", text, flags=re.MULTILINE)
    if tls is None:
        once(r"^server \{\n    listen 80;.*?^\}\n", "")
        once(r"listen 443 ssl http2;", f"listen {listen};")
        text = re.sub(r"^ *ssl_.*\n", "", text, flags=re.MULTILINE)
    else:
        address, certificate, key = tls
        once(r"listen 80;", f"listen {listen};")
        once(r"listen 443 ssl http2;", f"listen {address} ssl http2;")
        once(r"ssl_certificate /etc/\S+;", f"ssl_certificate {certificate};")
        once(r"ssl_certificate_key /etc/\S+;", f"ssl_certificate_key {key};")
    return text


def nginx_baseline_server(site: str, *, listen: str) -> str:
    """A server publishing MUSIC_ROOT at /plain/ with the directives of the rendered site's
    internal media location, minus `internal`, logging like the site."""
    media = re.search(r"location /internal-media/ \{\n(.*?)\n    \}", site, re.DOTALL)
    log = re.search(r"^ *access_log .*$", site, re.MULTILINE)
    if media is None or log is None:
        raise ValueError("deploy/nginx/encore.conf: no internal media location or access_log")
    body = "\n".join(line for line in media.group(1).split("\n") if line.strip() != "internal;")
    return f"server {{\n    listen {listen};\n{log.group()}\n    location /plain/ {{\n{body}\n    }}\n}}\n"


def nginx_main_render(*, prefix: Path, http: str) -> str:
    """A whole nginx.conf around `http` (its http block's contents) keeping every file it writes
    under `prefix`: for `nginx -p prefix -c file`, in the foreground. Workers run as this user
    (if it is root: nginx ignores `user` otherwise), so that they can read temporary folders."""
    mime = Path("/etc/nginx/mime.types")
    types = f"include {mime};" if mime.is_file() else "types { text/css css; }"
    temp = "".join(
        f"{kind}_temp_path {prefix / kind}; "
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"daemon off;\nuser {pwd.getpwuid(os.geteuid()).pw_name};\nworker_processes auto;\npid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'error.log'} warn;\nevents {{ worker_connections 4096; }}\n"
        f"http {{\n{types}\ndefault_type application/octet-stream;\n{temp}\n{http}}}\n"
    )


# --- The library -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MediaFile:
    relative: bytes  # under MUSIC_ROOT
    size: int
    track_id: int


def library_write(music_root: Path, *, count: int, seconds: float) -> list[bytes]:
    """`count` FLAC files under music_root; their paths relative to it."""
    from tests.playback.flac import flac_write

    names = [
        f"Artist {n % 7:02}/Album {n % 3}/{n:03} Track {n}.flac".encode() for n in range(count)
    ]
    names[: len(AWKWARD_NAMES)] = AWKWARD_NAMES[:count]
    root = os.fsencode(music_root)
    for n, name in enumerate(names):
        # Written under a plain name first: libsndfile takes only names that are valid UTF-8.
        plain = flac_write(
            music_root / f"writing-{n}.flac",
            seconds=seconds,
            tags={"title": f"Track {n}", "artist": f"Artist {n % 7:02}"},
            seed=n,
        )
        os.makedirs(os.path.dirname(os.path.join(root, name)), exist_ok=True)
        os.rename(plain, os.path.join(root, name))
    return names


def library_store(music_root: Path, names: list[bytes]) -> list[MediaFile]:
    """A catalog track and a library file row for each file."""
    from django.utils import timezone

    from playback.models import LibraryFile
    from scrobbler.models import Track

    now = timezone.now()
    files = []
    for n, name in enumerate(names):
        key = hashlib.sha1(name).hexdigest()  # noqa: S324 - an identifier, not security
        track = Track.objects.create(uri=f"local:{key}", name=f"Track {n}", duration_ms=60_000)
        info = os.stat(os.path.join(os.fsencode(music_root), name))
        LibraryFile.objects.create(
            path=name,
            path_key=key,
            display_path=name.decode(errors="replace"),
            size=info.st_size,
            mtime_ns=info.st_mtime_ns,
            track=track,
            scanned_at=now,
        )
        files.append(MediaFile(name, info.st_size, track.pk))
    return files


def listener_create() -> PlaybackSession:
    """The user, their device and their playback session with that device active."""
    from django.utils import timezone

    from playback.models import Device, PlaybackSession
    from scrobbler.models import User

    user = User.objects.create_user(username=USERNAME, password=PASSWORD)
    now = timezone.now()
    device = Device.objects.create(user=user, client_id="bench", name="Bench", last_seen=now)
    return PlaybackSession.objects.create(user=user, active_device=device, changed_at=now)


# --- Servers ---------------------------------------------------------------------------------


def port_wait(port: int, proc: subprocess.Popen[bytes], log: Path, *, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"{proc.pid} exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"nothing listens on {port}:\n{log.read_text()}") from None
            time.sleep(0.1)


def process_tree(pid: int) -> list[int]:
    """`pid` and its children (nginx's workers, uvicorn's)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return [pid]
    return [pid, *map(int, children)]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """Busy CPU seconds of the whole machine so far, all cores (interrupts included: a process's
    own times include those that arrived while it ran)."""
    user, nice, system, _, _, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


# --- The client ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientPlan:
    port: int
    paths: tuple[str, ...]  # request target of each file
    files: tuple[tuple[str, int], ...]  # each file's absolute path and size
    cookie: str
    readers: int
    start_at: float  # time.monotonic() when the readers start; measuring begins after warmup
    warmup: float
    duration: float
    verify_every: int
    seed: int


@dataclass
class ClientResult:
    body_bytes: int = 0
    requests: int = 0
    ttfb: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    verified: int = 0
    cpu_seconds: float = 0.0
    cpu_system: float = 0.0  # of which in the kernel (mostly copying received bytes)


class Tally:
    """What happened inside the measuring window [start, end) (loop.time())."""

    def __init__(self, start: float, end: float) -> None:
        self.start, self.end = start, end
        self.result = ClientResult()

    def inside(self, now: float) -> bool:
        return self.start <= now < self.end


class Exchange(asyncio.BufferedProtocol):
    """One HTTP/1.1 connection carrying one range request at a time. Bodies are counted as they
    arrive (and compared with the file when asked), never kept."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally
        self.buffer = memoryview(bytearray(256 * KIB))
        self.transport: asyncio.Transport | None = None
        self.open = True
        self.done: asyncio.Future[str] | None = None
        self.head: bytearray | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def request(self, raw: bytes, *, start: int, length: int, size: int, stop_after: int, expected: mmap.mmap | None) -> asyncio.Future[str]:  # fmt: skip
        """Send `raw`, a request for bytes start..start+length-1 of a file of `size` bytes; the
        future says "ok", "stopped" (dropped after `stop_after` bytes) or what went wrong."""
        assert self.transport is not None
        self.done = asyncio.get_running_loop().create_future()
        self.head = bytearray()
        self.start, self.length, self.size = start, length, size
        self.stop_after, self.expected = stop_after, expected
        self.position, self.first = start, 0.0
        self.sent = time.monotonic()
        self.transport.write(raw)
        return self.done

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.buffer

    def buffer_updated(self, nbytes: int) -> None:
        if self.done is None or self.done.done():
            self.finish("bytes after the response")
            return
        if self.head is None:
            self.body(self.buffer[:nbytes])
            return
        self.head += self.buffer[:nbytes]
        end = self.head.find(b"\r\n\r\n")
        if end < 0:
            if len(self.head) > 64 * KIB:
                self.finish("response head too long")
            return
        head, rest = bytes(self.head[:end]), bytes(self.head[end + 4 :])
        self.head = None
        problem = self.head_check(head)
        if problem:
            self.finish(problem)
        elif rest:
            self.body(memoryview(rest))

    def head_check(self, head: bytes) -> str:
        lines = head.decode("latin-1").split("\r\n")
        status = lines[0].split(" ", 2)[1] if lines[0].count(" ") else "?"
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        last = self.start + self.length - 1
        if status != "206":
            return f"HTTP {status}"
        if headers.get("content-range") != f"bytes {self.start}-{last}/{self.size}":
            return f"Content-Range {headers.get('content-range')!r}"
        if headers.get("content-length") != str(self.length):
            return f"Content-Length {headers.get('content-length')!r}"
        if headers.get("connection", "").lower() == "close":
            self.open = False
        return ""

    def body(self, data: memoryview) -> None:
        now = time.monotonic()
        tally = self.tally
        if not self.first:
            self.first = now
            if tally.inside(now):
                tally.result.ttfb.append(now - self.sent)
        size = len(data)
        if self.position + size > self.start + self.length:
            self.finish("more bytes than Content-Length")
            return
        expected = self.expected
        if expected is not None and bytes(data) != expected[self.position : self.position + size]:
            self.finish("wrong bytes")
            return
        if tally.inside(now):
            tally.result.body_bytes += size
        self.position += size
        done = self.position == self.start + self.length
        if done or self.position - self.start >= self.stop_after:
            tally.result.verified += expected is not None
            self.finish("ok" if done else "stopped")

    def finish(self, outcome: str) -> None:
        if outcome != "ok":
            self.open = False
            if self.transport is not None:
                self.transport.abort()
        if self.done is not None and not self.done.done():
            self.done.set_result(outcome)

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        self.finish("connection closed early")


def range_pick(rng: random.Random, size: int) -> tuple[str, int, int, int]:
    """(Range header, start, length, stop_after) like a browser's audio element: 70% open-ended
    from the start or a seek point, half of those read to the end and half dropped after 1 to
    4 MB (the listener seeks); 30% bounded ranges of 256 KiB to 2 MiB."""
    if rng.random() < 0.7:
        start = 0 if rng.random() < 0.3 else rng.randrange(size)
        stop_after = size if rng.random() < 0.5 else rng.randint(1 * MIB, 4 * MIB)
        return f"bytes={start}-", start, size - start, stop_after
    length = min(size, rng.randint(256 * KIB, 2 * MIB))
    start = rng.randrange(size - length + 1)
    return f"bytes={start}-{start + length - 1}", start, length, length


async def reader(plan: ClientPlan, tally: Tally, rng: random.Random, files: list[mmap.mmap]) -> None:  # fmt: skip
    loop = asyncio.get_running_loop()
    connection: Exchange | None = None
    count = 0
    while loop.time() < tally.end:
        index = rng.randrange(len(plan.paths))
        size = plan.files[index][1]
        header, start, length, stop_after = range_pick(rng, size)
        raw = (
            f"GET {plan.paths[index]} HTTP/1.1\r\nHost: 127.0.0.1:{plan.port}\r\n"
            f"Range: {header}\r\nCookie: {plan.cookie}\r\n\r\n"
        ).encode()
        if connection is None or not connection.open:
            try:
                _, connection = await loop.create_connection(
                    lambda: Exchange(tally), "127.0.0.1", plan.port
                )
            except OSError as error:
                tally.result.errors[f"connect: {error}"] += 1
                await asyncio.sleep(0.1)
                continue
        count += 1
        expected = files[index] if count % plan.verify_every == 0 else None
        done = connection.request(
            raw, start=start, length=length, size=size, stop_after=stop_after, expected=expected
        )
        try:
            outcome = await asyncio.wait_for(done, timeout=60)
        except TimeoutError:
            outcome = "no answer within 60 s"
            connection.finish(outcome)
        if tally.inside(loop.time()):
            if outcome in ("ok", "stopped"):
                tally.result.requests += 1
            else:
                tally.result.errors[outcome] += 1


async def client_async(plan: ClientPlan) -> ClientResult:
    loop = asyncio.get_running_loop()
    start = plan.start_at + plan.warmup
    tally = Tally(start, start + plan.duration)
    handles = []
    for path, _ in plan.files:
        with open(path, "rb") as file:
            handles.append(mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ))
    cpu: list[os.times_result] = []
    loop.call_at(tally.start, lambda: cpu.append(os.times()))
    loop.call_at(tally.end, lambda: cpu.append(os.times()))
    await asyncio.sleep(max(0.0, plan.start_at - loop.time()))
    rngs = [random.Random(plan.seed * 1000 + n) for n in range(plan.readers)]
    await asyncio.gather(*(reader(plan, tally, rng, handles) for rng in rngs))
    if len(cpu) == 2:
        tally.result.cpu_seconds = cpu[1].user - cpu[0].user + cpu[1].system - cpu[0].system
        tally.result.cpu_system = cpu[1].system - cpu[0].system
    return tally.result


def client_run(plan: ClientPlan) -> ClientResult:
    """One client process's readers (the entry point of a process of the pool)."""
    return asyncio.run(client_async(plan))


# --- Measuring -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    port: int
    paths: tuple[str, ...]
    server_pids: tuple[int, ...]


@dataclass(frozen=True)
class Run:
    target: str
    mb_s: float
    req_s: float
    ttfb_p50_ms: float
    ttfb_p99_ms: float
    server_cores: float
    client_cores: float
    idle_cores: float
    other_cores: float
    client_kernel: float  # share of the client's CPU spent in the kernel
    verified: int
    errors: Counter[str]


def target_measure(target: Target, args: argparse.Namespace, *, files: list[tuple[str, int]], cookie: str, pool: ProcessPoolExecutor, seed: int) -> Run:  # fmt: skip
    processes = args.client_processes
    start_at = time.monotonic() + 1.0  # the pool's processes are already running
    plans = [
        ClientPlan(
            port=target.port,
            paths=target.paths,
            files=tuple(files),
            cookie=cookie,
            readers=args.readers // processes + (n < args.readers % processes),
            start_at=start_at,
            warmup=args.warmup,
            duration=args.duration,
            verify_every=args.verify_every,
            seed=seed * 100 + n,
        )
        for n in range(processes)
    ]
    futures = [pool.submit(client_run, plan) for plan in plans]
    time.sleep(max(0.0, start_at + args.warmup - time.monotonic()))
    pids = [pid for root in target.server_pids for pid in process_tree(root)]
    server0, machine0 = cpu_seconds(pids), machine_busy_seconds()
    time.sleep(max(0.0, start_at + args.warmup + args.duration - time.monotonic()))
    server, machine = cpu_seconds(pids) - server0, machine_busy_seconds() - machine0
    results = [future.result() for future in futures]
    ttfb = [t for r in results for t in r.ttfb]
    client = sum(r.cpu_seconds for r in results)
    return Run(
        target=target.name,
        mb_s=sum(r.body_bytes for r in results) / args.duration / 1e6,
        req_s=sum(r.requests for r in results) / args.duration,
        ttfb_p50_ms=percentile(ttfb, 0.5) * 1000,
        ttfb_p99_ms=percentile(ttfb, 0.99) * 1000,
        server_cores=server / args.duration,
        client_cores=client / args.duration,
        idle_cores=max(0.0, (os.cpu_count() or 1) - machine / args.duration),
        other_cores=max(0.0, machine - server - client) / args.duration,
        client_kernel=sum(r.cpu_system for r in results) / client if client else 0.0,
        verified=sum(r.verified for r in results),
        errors=sum((r.errors for r in results), Counter()),
    )


def spread(values: list[float], digits: int) -> str:
    """The median, and the smallest and largest value when there are several."""
    middle = f"{statistics.median(values):,.{digits}f}"
    if len(values) == 1:
        return middle
    return f"{middle} ({min(values):,.{digits}f}..{max(values):,.{digits}f})"


def report(runs: list[Run], args: argparse.Namespace) -> None:
    names = [name for name in TARGETS if any(r.target == name for r in runs)]
    by_target = {name: [r for r in runs if r.target == name] for name in names}
    baseline = [r.mb_s for r in by_target.get("nginx", [])]
    print(
        f"\n{args.readers} readers in {args.client_processes} client processes, {args.duration:g} s "
        f"each after {args.warmup:g} s of warm-up, {args.repeat} times; median (min..max)"
    )
    columns = ("target", "MB/s", "req/s", "TTFB p50 ms", "TTFB p99 ms", "% of nginx",
               "server cores", "client cores", "other cores", "idle cores")  # fmt: skip
    rows = []
    shares: dict[str, float] = {}
    for name, group in by_target.items():
        share = ""
        if baseline:
            ratios = [r.mb_s / b * 100 for r, b in zip(group, baseline, strict=False) if b]
            share = spread(ratios, 0) if ratios else ""
            shares[name] = statistics.median(r.mb_s for r in group) / statistics.median(baseline)
        rows.append((
            name, spread([r.mb_s for r in group], 0), spread([r.req_s for r in group], 0),
            spread([r.ttfb_p50_ms for r in group], 1), spread([r.ttfb_p99_ms for r in group], 1),
            share, spread([r.server_cores for r in group], 2),
            spread([r.client_cores for r in group], 2), spread([r.other_cores for r in group], 2),
            spread([r.idle_cores for r in group], 2),
        ))  # fmt: skip
    widths = [max(len(str(row[i])) for row in [columns, *rows]) for i in range(len(columns))]
    for row in [columns, *rows]:
        print(" | ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
    for name, group in by_target.items():
        verified = sum(r.verified for r in group)
        errors = sum((r.errors for r in group), Counter())
        detail = ", ".join(f"{count} x {what}" for what, count in errors.most_common())
        kernel = statistics.median(r.client_kernel for r in group)
        print(f"{name}: {verified} responses compared byte for byte, all equal; "
              + (f"errors: {detail}" if errors else "no errors")
              + f"; client CPU {kernel:.0%} in the kernel")  # fmt: skip
    for name, goal in GOALS.items():
        if name in shares:
            met = "met" if shares[name] >= goal else "NOT met"
            print(f"{name}: {shares[name]:.0%} of plain nginx's MB/s, target >= {goal:.0%}: {met}")


# --- Running ---------------------------------------------------------------------------------


def responses_check(target: Target, files: list[MediaFile], music_root: Path, cookie: str, notes: set[str]) -> list[str]:  # fmt: skip
    """Whole-file, suffix, unsatisfiable and two-range requests of one file, and a small range of
    every file. Returns what is wrong (status, bytes, Content-Type); adds to `notes` headers that
    are missing or repeated (Cache-Control, Accept-Ranges)."""
    import httpx

    problems = []
    headers = {"Cookie": cookie}
    with httpx.Client(base_url=f"http://127.0.0.1:{target.port}", headers=headers) as client:
        for n, media in enumerate(files):
            content = Path(os.fsdecode(os.path.join(os.fsencode(music_root), media.relative))).read_bytes()  # fmt: skip
            checks: list[tuple[dict[str, str], int, bytes | None]] = [
                ({"Range": "bytes=0-1023"}, 206, content[:1024])
            ]
            if n == 0:
                size = media.size
                checks += [
                    ({}, 200, content),
                    ({"Range": "bytes=-1000"}, 206, content[-1000:]),
                    ({"Range": f"bytes={size}-"}, 416, None),
                    ({"Range": "bytes=0-9,100-109"}, 206, None),
                ]
            for extra, status, body in checks:
                response = client.get(target.paths[n], headers=extra)
                what = f"{target.name} {extra.get('Range', 'no Range')} of {media.relative!r}"
                if response.status_code != status:
                    problems.append(f"{what}: HTTP {response.status_code}, not {status}")
                    continue
                if body is not None and response.content != body:
                    problems.append(f"{what}: wrong bytes")
                kind = response.headers["content-type"]
                if status == 206 and "," in extra.get("Range", ""):
                    if not kind.startswith("multipart/byteranges"):
                        problems.append(f"{what}: Content-Type {kind}")
                elif target.name != "nginx" and status != 416 and kind != "audio/flac":
                    problems.append(f"{what}: Content-Type {kind}")
                for name, value in (("cache-control", "no-store"), ("accept-ranges", "bytes")):
                    values = response.headers.get_list(name)
                    if target.name != "nginx" and status == 200 and values != [value]:
                        notes.add(f"{target.name}: a 200 says {name}: {', '.join(values) or '-'}")
    return problems


@dataclass(frozen=True)
class Setup:
    targets: dict[str, Target]
    files: list[MediaFile]
    music_root: Path
    cookie: str  # the signed-in user's session cookie


@contextmanager
def servers(args: argparse.Namespace, work: Path) -> Iterator[Setup]:
    """The database, the files, nginx and the uvicorns, a signed-in user and media URLs."""
    django_migrate()
    from django.conf import settings
    from django.core.management import call_command

    from playback.tokens import media_token
    from tests.processes import free_port, process_env, running, sign_in

    call_command("collectstatic", interactive=False, verbosity=0)  # DEBUG off: the manifest
    music_root = work / "music"
    started = time.perf_counter()
    names = library_write(music_root, count=args.files, seconds=args.seconds_per_file)
    files = library_store(music_root, names)
    session = listener_create()
    total = sum(f.size for f in files)
    print(f"{len(files)} FLAC files, {total / 1e6:,.0f} MB, written in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip

    run_seconds = args.repeat * len(args.targets) * (args.warmup + args.duration + 5) + 60
    env = process_env(
        work,
        work / "static",
        MUSIC_ROOT=str(music_root),
        DEBUG="false",
        LOG_LEVEL="WARNING",
        ALLOWED_HOSTS="127.0.0.1,localhost",
    )
    env.pop("MEDIA_ACCEL", None)
    logs = work / "logs"
    logs.mkdir()
    with ExitStack() as stack:
        direct = stack.enter_context(
            web_server(env, logs / "uvicorn-direct.log", workers=args.web_processes)
        )
        accel_env = {**env, "MEDIA_ACCEL": "nginx"}
        accel = stack.enter_context(
            web_server(accel_env, logs / "uvicorn-offloaded.log", workers=args.web_processes)
        )
        plain_port, site_port = free_port(), free_port()
        site = nginx_site_render(
            upstream=f"127.0.0.1:{accel.port}",
            music_root=music_root,
            static_root=work / "static",
            log_dir=logs,
            listen=f"127.0.0.1:{site_port}",
        )
        prefix = work / "nginx"
        prefix.mkdir()
        conf = prefix / "nginx.conf"
        baseline = nginx_baseline_server(site, listen=f"127.0.0.1:{plain_port}")
        conf.write_text(nginx_main_render(prefix=prefix, http=site + baseline))
        nginx = stack.enter_context(
            running(
                ["nginx", "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
                env=os.environ,
                log=logs / "nginx.log",
            )
        )
        port_wait(plain_port, nginx, prefix / "error.log")
        port_wait(site_port, nginx, prefix / "error.log")
        print(f"pids (to profile): uvicorn direct {direct.pid}, offloaded {accel.pid}; nginx {nginx.pid}")  # fmt: skip

        client = sign_in(direct.base, USERNAME, PASSWORD)
        cookie = f"sessionid={client.cookies['sessionid']}"
        client.close()
        settings.MEDIA_TOKEN_SECONDS = max(3600, int(run_seconds * 2))  # tokens for the whole run
        media = tuple(f"/media/tracks/{f.track_id}?token={media_token(session, f.track_id)}" for f in files)  # fmt: skip
        plain = tuple("/plain/" + quote(f.relative) for f in files)
        yield Setup(
            targets={
                "nginx": Target("nginx", plain_port, plain, (nginx.pid,)),
                "direct": Target("direct", direct.port, media, (direct.pid,)),
                "offloaded": Target("offloaded", site_port, media, (nginx.pid, accel.pid)),
            },
            files=files,
            music_root=music_root,
            cookie=cookie,
        )


def bench(args: argparse.Namespace, work: Path) -> None:
    with servers(args, work) as setup:
        problems: list[str] = []
        notes: set[str] = set()
        for name in args.targets:
            target = setup.targets[name]
            problems += responses_check(target, setup.files, setup.music_root, setup.cookie, notes)
        if problems:
            raise SystemExit("wrong answers, nothing measured:\n  " + "\n  ".join(problems))
        print("every target answered whole files, ranges, suffixes, 416 and multipart correctly")
        for note in sorted(notes):
            print(f"  note: {note}")

        local = [
            (os.fsdecode(os.path.join(os.fsencode(setup.music_root), f.relative)), f.size)
            for f in setup.files
        ]
        runs: list[Run] = []
        context = get_context("spawn")  # the clients need none of this process's state
        with ProcessPoolExecutor(args.client_processes, mp_context=context) as pool:
            list(pool.map(time.sleep, [0.1] * args.client_processes))  # start them now
            for repeat in range(args.repeat):
                for name in args.targets:
                    run = target_measure(setup.targets[name], args, files=local, cookie=setup.cookie, pool=pool, seed=repeat)  # fmt: skip
                    runs.append(run)
                    print(f"  {name:9} {run.mb_s:8,.0f} MB/s {run.req_s:7,.0f} req/s  TTFB p50 "
                          f"{run.ttfb_p50_ms:6.1f} p99 {run.ttfb_p99_ms:7.1f} ms  cores: server "
                          f"{run.server_cores:.2f} client {run.client_cores:.2f} other "
                          f"{run.other_cores:.2f} idle {run.idle_cores:.2f}", flush=True)  # fmt: skip
        report(runs, args)
        for name in ("direct", "offloaded"):
            if name in args.targets:
                roots = [pid for pid in setup.targets[name].server_pids if pid != setup.targets["nginx"].server_pids[0]]  # fmt: skip
                pids = [pid for root in roots for pid in process_tree(root)]
                print(f"uvicorn peak memory ({name}, {len(pids)} processes): "
                      f"{peak_rss_mb(pids):,.0f} MB")  # fmt: skip


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--files", type=int, help="FLAC files (20)")
    parser.add_argument("--seconds-per-file", type=float, help="length of each, ~170 kB/s (60)")
    parser.add_argument("--duration", type=float, help="seconds measured per run (15)")
    parser.add_argument("--warmup", type=float, help="seconds of load before measuring (3)")
    parser.add_argument("--readers", type=int, help="concurrent readers (50)")
    parser.add_argument("--repeat", type=int, help="runs of each target, in turns (3)")
    parser.add_argument("--web-processes", type=int, default=1, help="uvicorn processes (1)")
    parser.add_argument("--client-processes", type=int, default=2, help="client processes (2)")
    parser.add_argument("--verify-every", type=int, default=10, help="compare every Nth response (10)")  # fmt: skip
    parser.add_argument("--targets", default=",".join(TARGETS), help="comma-separated subset")
    parser.add_argument("--quick", action="store_true", help="a smoke run: tiny and short")
    parser.add_argument("--keep", action="store_true", help="keep the files and logs afterwards")
    args = parser.parse_args()
    defaults = {"files": (3, 20), "seconds_per_file": (5, 60), "duration": (2, 15),
                "warmup": (1, 3), "readers": (6, 50), "repeat": (1, 3)}  # fmt: skip
    for option, (quick, full) in defaults.items():
        if getattr(args, option) is None:
            setattr(args, option, quick if args.quick else full)
    if args.quick:
        args.client_processes, args.verify_every = 1, 1
    args.targets = [name.strip() for name in args.targets.split(",") if name.strip()]
    if not set(args.targets) <= set(TARGETS):
        parser.error(f"--targets: choose from {', '.join(TARGETS)}")
    if min(args.files, args.readers, args.repeat, args.web_processes, args.client_processes, args.verify_every) < 1:  # fmt: skip
        parser.error("counts must be at least 1")
    if shutil.which("nginx") is None:
        raise SystemExit("nginx is not installed (Debian: apt-get install nginx)")

    with scratch("media", keep=args.keep) as work:
        bench_environment(work, STATIC_ROOT=str(work / "static"))
        bench(args, work)


if __name__ == "__main__":
    main()
