"""How many realtime Spotify accounts one worker process keeps on schedule.

Starts the bundled simulator in its own process (real clock), links N accounts to it (tokens
minted by the simulator), then runs Encore's poll loop (`polling.poll_run`, what the Celery task
runs) in this single process for a while and prints:

- accounts polled on time per second (on time: finished within --late-ms of falling due),
- p50 / p99 / max lateness (from falling due to the poll finishing),
- CPU ms per poll in this process (the simulator's own CPU is not counted).

    .venv/bin/python bench/polling.py --accounts 2000 --seconds 60
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/encore_bench .venv/bin/python bench/polling.py

With DATABASE_URL on PostgreSQL the named database is dropped and created anew; without it a
temporary SQLite file is used.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    ROOT,
    arguments,
    bench_environment,
    django_migrate,
    percentile,
    scratch,
)
from tests.processes import free_port


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=60.0, help="measured run length")
    parser.add_argument(
        "--warmup", type=float, default=10.0, help="seconds polled before measuring"
    )
    parser.add_argument("--interval", type=float, default=5.0, help="realtime poll interval")
    parser.add_argument("--threads", type=int, default=24, help="POLL_CONCURRENCY")
    parser.add_argument("--late-ms", type=float, default=1000.0, help="lateness still on time")
    args = parser.parse_args()

    with scratch("polling") as work:
        (work / "static").mkdir()  # nothing is served; this only keeps WhiteNoise from warning
        port = free_port()
        base = f"http://127.0.0.1:{port}/spotify-sim"
        bench_environment(
            work,
            SPOTIFY_API_BASE_URL=f"{base}/v1",
            SPOTIFY_ACCOUNTS_BASE_URL=f"{base}/accounts",
            POLL_REALTIME_SECONDS=str(args.interval),
            POLL_CONCURRENCY=str(args.threads),
            POLL_BATCH_SIZE="200",
        )
        simulator = subprocess.Popen(
            [sys.executable, "manage.py", "spotify_simulator", "--port", str(port), "--quiet"],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": f"sqlite:///{work / 'sim.sqlite3'}"},
            stdout=subprocess.DEVNULL,
        )
        try:
            run(args, base)
        finally:
            simulator.terminate()
            simulator.wait()


def run(args: argparse.Namespace, base: str) -> None:
    import datetime as dt

    import django
    import httpx

    django_migrate()
    from django.utils import timezone

    from scrobbler import polling
    from scrobbler.models import PollMode, SpotifyAccount, User
    from scrobbler.spotify import crypto

    for _ in range(100):
        try:
            httpx.get(f"{base}/_control/clock", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    created = httpx.post(
        f"{base}/_control/accounts",
        json={"prefix": "bench-", "count": args.accounts, "profile": "mixed", "tokens": True},
        timeout=300,
    ).json()["accounts"]
    users = User.objects.bulk_create(User(username=a["id"]) for a in created)
    now = timezone.now()
    SpotifyAccount.objects.bulk_create(
        SpotifyAccount(
            user=user,
            spotify_user_id=account["id"],
            access_token_encrypted=crypto.encrypt(account["tokens"]["access_token"]),
            refresh_token_encrypted=crypto.encrypt(account["tokens"]["refresh_token"]),
            access_token_expires_at=now + dt.timedelta(hours=1),
            consented_at=now,
            poll_mode=PollMode.REALTIME,
            # Spread the first polls over one interval, as a running system would have them.
            realtime_due_at=now + dt.timedelta(seconds=args.interval * n / args.accounts),
            next_poll_at=now + dt.timedelta(seconds=args.interval * n / args.accounts),
        )
        for n, (user, account) in enumerate(zip(users, created, strict=True))
    )
    print(f"{args.accounts} realtime accounts, every {args.interval:g} s, {args.threads} threads, "
          f"database {django.db.connection.vendor}")  # fmt: skip

    lateness: list[float] = []
    failures = 0

    def measure(outcome: polling.PollOutcome) -> None:
        nonlocal failures
        assert outcome.due_at is not None
        lateness.append((timezone.now() - outcome.due_at).total_seconds() * 1000)
        failures += not outcome.ok

    polling.poll_run(seconds=args.warmup)
    cpu, wall = time.process_time(), time.monotonic()
    polls = polling.poll_run(seconds=args.seconds, on_outcome=measure)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    on_time = sum(1 for late in lateness if late <= args.late_ms)
    print(f"polls: {polls} in {wall:.1f} s ({polls / wall:.0f}/s; schedule asks "
          f"{args.accounts / args.interval:.0f}/s), failed: {failures}")  # fmt: skip
    print(f"on time (<= {args.late_ms:g} ms late): {on_time / wall:.0f} accounts/s "
          f"({100 * on_time / max(len(lateness), 1):.1f}%)")  # fmt: skip
    print(f"lateness ms: p50 {percentile(lateness, 0.5):.0f}, p99 {percentile(lateness, 0.99):.0f}, "
          f"max {max(lateness, default=0):.0f}")  # fmt: skip
    print(f"CPU per poll: {1000 * cpu / max(polls, 1):.2f} ms (this process)")


if __name__ == "__main__":
    main()
