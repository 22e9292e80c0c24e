"""How fast a playback control reaches every device of its user.

Creates --users users with --devices devices each (a library track playing), starts
--web-processes web servers (uvicorn, as the Procfile runs it) sharing Redis (channels-redis)
and the database, and connects one client per device from this process, alternating
Server-Sent Events (/events) and WebSockets (/ws/playback) and spreading them over the web
processes. Then it sends --controls play/pause toggles, --rate per second, each from one random
user's first device, and times from just before the POST to the moment each of that user's
devices receives the event with the new revision. Prints p50/p99/max of those deliveries
(target: p99 < 100 ms), the controls' own response times, and any event that never arrived.

    .venv/bin/python bench/realtime.py                      # 100 users x 10 devices, 2 servers
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/encore_bench_realtime \\
        .venv/bin/python bench/realtime.py
    .venv/bin/python bench/realtime.py --quick              # a smoke run

Needs Redis at REDIS_URL (default redis://127.0.0.1:6379/13; that database is emptied).
Without DATABASE_URL a temporary SQLite file holds the data.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import random
import secrets
import sys
import time
from collections import defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    arguments,
    bench_environment,
    django_migrate,
    percentile,
    scratch,
    web_server,
)


@dataclass
class Client:
    user: int
    device: str
    cookie: str
    csrf: str


@dataclass
class Results:
    """Send times of controls by (user, revision); what each device received, (revision, time)."""

    sent: dict[tuple[int, int], float] = field(default_factory=dict)
    received: dict[str, list[tuple[int, float]]] = field(default_factory=lambda: defaultdict(list))
    control_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    reconnects: int = 0


def users_create(users: int, devices: int) -> list[list[Client]]:
    """Users, devices, a playing session each, and signed-in session cookies, straight into the
    database (signing a thousand clients in through the form would only time the password hash)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.utils import timezone

    from playback import queue, sessions
    from playback.models import Device, LibraryFile
    from scrobbler.models import Track, User

    store = import_module(settings.SESSION_ENGINE).SessionStore
    track = Track.objects.create(uri="local:bench", name="Bench track", duration_ms=600_000)
    LibraryFile.objects.create(
        path=b"bench.flac",
        path_key="0" * 40,
        display_path="bench.flac",
        size=1,
        mtime_ns=0,
        track=track,
        scanned_at=timezone.now(),
    )
    out = []
    for u in range(users):
        user = User.objects.create(username=f"listener{u}")
        now = timezone.now()
        Device.objects.bulk_create(
            Device(user=user, client_id=f"device-{u}-{d:04}", name=f"Device {d}", last_seen=now)
            for d in range(devices)
        )
        first = Device.objects.get(user=user, client_id=f"device-{u}-0000")
        control = sessions.Control(user_id=user.pk, device=first, now=now)
        queue.queue_play(control, track_ids=[track.pk])
        clients = []
        for d in range(devices):
            # One sign-in per device, as real browsers have.
            session = store()
            session[SESSION_KEY] = str(user.pk)
            session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
            session[HASH_SESSION_KEY] = user.get_session_auth_hash()
            session.create()
            csrf = secrets.token_hex(16)  # a 32-character secret, as the cookie holds it
            cookie = f"sessionid={session.session_key}; csrftoken={csrf}"
            clients.append(Client(user.pk, f"device-{u}-{d:04}", cookie, csrf))
        out.append(clients)
    return out


async def follow_sse(
    http: aiohttp.ClientSession, base: str, client: Client, results: Results, ready: asyncio.Event
) -> None:
    """Follow /events as EventSource does: a stream that ends is opened again, and its new
    snapshot tells the revision (what a browser shows is the same)."""
    while True:
        async with http.get(f"{base}/events", headers={"Cookie": client.cookie}) as response:
            assert response.status == 200, f"/events answered {response.status}"
            async for raw in response.content:
                line = raw.decode().rstrip("\n")
                if line.startswith("data: "):  # a snapshot or a change: both carry `rev`
                    received(results, client, json.loads(line[6:]))
                    ready.set()
        results.reconnects += 1
        await asyncio.sleep(0.5)


async def follow_ws(
    http: aiohttp.ClientSession, base: str, client: Client, results: Results, ready: asyncio.Event
) -> None:
    url = base.replace("http://", "ws://") + "/ws/playback"
    headers = {"Cookie": client.cookie, "Origin": base}
    while True:
        async with http.ws_connect(url, headers=headers) as ws:
            async for message in ws:
                received(results, client, json.loads(message.data)["data"])
                ready.set()
        results.reconnects += 1
        await asyncio.sleep(0.5)


def received(results: Results, client: Client, event: dict[str, int]) -> None:
    results.received[client.device].append((event["rev"], time.perf_counter()))


async def control(http: aiohttp.ClientSession, base: str, client: Client, results: Results) -> None:
    headers = {"Cookie": client.cookie, "X-CSRFToken": client.csrf}
    body = {"device": client.device, "event_id": secrets.token_hex(8)}
    started = time.perf_counter()
    async with http.post(f"{base}/api/sessions/me/toggle", json=body, headers=headers) as r:
        answer = await r.json()
    results.control_ms.append((time.perf_counter() - started) * 1000)
    if r.status != 200:
        results.errors.append(f"control answered {r.status}: {answer}")
        return
    results.sent[(client.user, answer["rev"])] = started


async def drive(args: argparse.Namespace, bases: list[str], users: list[list[Client]]) -> Results:
    results = Results()
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()
    ) as http:
        followers, readies = [], []
        started = time.perf_counter()
        for u, clients in enumerate(users):
            for d, client in enumerate(clients):
                base = bases[(u * len(clients) + d) % len(bases)]
                ready = asyncio.Event()
                follow = follow_sse if d % 2 == 0 else follow_ws
                followers.append(asyncio.create_task(follow(http, base, client, results, ready)))
                readies.append(ready)
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), timeout=120)
        print(f"{len(readies):,} clients connected in {time.perf_counter() - started:.1f} s")
        await asyncio.sleep(1)

        rng = random.Random(args.seed)
        controls = []
        busy: set[int] = set()
        for i in range(args.controls):
            # One control in flight per user, as a person pressing buttons.
            candidates = [u for u in range(len(users)) if u not in busy]
            u = rng.choice(candidates)
            busy.add(u)
            task = asyncio.create_task(control(http, bases[i % len(bases)], users[u][0], results))
            task.add_done_callback(functools.partial(lambda user, _: busy.discard(user), u))
            controls.append(task)
            await asyncio.sleep(1 / args.rate)
        await asyncio.gather(*controls)
        await asyncio.sleep(2)  # stragglers
        for task in followers:
            task.cancel()
        await asyncio.gather(*followers, return_exceptions=True)
    return results


def report(args: argparse.Namespace, users: list[list[Client]], results: Results) -> None:
    """A device has a control's news once it holds that revision or a newer one (a client that
    falls behind is sent only the newest event: it fetches the snapshot either way)."""
    latencies, missing = [], 0
    for (user, rev), sent in results.sent.items():
        for client in next(clients for clients in users if clients[0].user == user):
            arrival = next((at for r, at in results.received[client.device] if r >= rev), None)
            if arrival is None:
                missing += 1
                if missing <= 5:
                    got = [r for r, _ in results.received[client.device]][-3:]
                    print(f"  missing: rev {rev} at {client.device} (last received {got})")
            else:
                latencies.append((arrival - sent) * 1000)
    deliveries = len(latencies)
    print(
        f"{len(results.sent):,} controls, {deliveries:,} deliveries, {missing:,} missing, "
        f"{results.reconnects} reconnects"
    )
    for error in results.errors[:5]:
        print("  error:", error)
    if not latencies:
        return
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    print(
        f"control to every device: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(latencies):.1f} ms"
    )
    controls = results.control_ms
    print(
        f"control response: p50 {percentile(controls, 0.5):.1f} ms, p99 {percentile(controls, 0.99):.1f} ms"
    )
    print(f"target p99 < 100 ms: {'met' if p99 < 100 and missing == 0 else 'NOT met'}")


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--devices", type=int, default=10, help="clients per user")
    parser.add_argument("--controls", type=int, default=600)
    parser.add_argument("--rate", type=float, default=20.0, help="controls per second")
    parser.add_argument("--web-processes", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="5 users x 4 devices, 20 controls")
    parser.add_argument("--keep", action="store_true", help="keep the servers' logs")
    args = parser.parse_args()
    if args.quick:
        args.users, args.devices, args.controls, args.rate = 5, 4, 20, 10.0

    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13")
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    with scratch("realtime", keep=args.keep) as work, ExitStack() as servers:
        env = bench_environment(
            work,
            REDIS_URL=redis_url,
            DB_POOL_SIZE="20",  # a thousand clients connect at once: PostgreSQL allows 100
        )
        database_url = env["DATABASE_URL"]
        django_migrate()
        users = users_create(args.users, args.devices)
        try:
            bases = [
                servers.enter_context(web_server(env, work / f"web-{n}.log")).base
                for n in range(args.web_processes)
            ]
            print(
                f"{args.users} users x {args.devices} devices on {len(bases)} uvicorn processes, "
                f"{'PostgreSQL' if database_url.startswith('postgres') else 'SQLite'}, Redis"
            )
            report(args, users, asyncio.run(drive(args, bases, users)))
        except BaseException:
            for log in work.glob("web-*.log"):  # what the servers said, before it is deleted
                print(f"--- {log.name}:", *log.read_text().splitlines()[-20:], sep="\n")
            raise


if __name__ == "__main__":
    main()
