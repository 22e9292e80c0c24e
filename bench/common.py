"""What the benchmarks share: their options parser, a scratch folder, their own settings and
database, a measuring child process, web servers started as the Procfile runs them (other
processes: tests.processes.running), and the figures they print (nearest-rank percentiles, peak
resident memory).

A bench run as `python bench/<area>.py` puts the repository on sys.path itself before importing
this module (Python puts only bench/ there).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent


def arguments(doc: str | None) -> argparse.ArgumentParser:
    """A bench's options, its --help starting with the bench's docstring `doc` as written."""
    return argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )


@contextmanager
def scratch(name: str, *, keep: bool = False) -> Iterator[Path]:
    """A temporary folder for one run of bench `name`, deleted afterwards unless `keep`."""
    work = Path(tempfile.mkdtemp(prefix=f"encore-bench-{name}-"))
    try:
        yield work
    finally:
        if keep:
            print(f"files and logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def recreate_postgres_database(url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def bench_environment(work: Path, *, postgres: bool = True, **settings: str) -> dict[str, str]:
    """A benchmark run's settings, put into os.environ and returned: its own database (the
    PostgreSQL database DATABASE_URL names, dropped and created anew, unless `postgres` is off;
    else a SQLite file in `work`), files under `work`, no .env, no simulator, DEBUG off, quiet
    logs; `settings` on top."""
    database_url = os.environ.get("DATABASE_URL", "")
    if postgres and database_url.startswith("postgres"):
        recreate_postgres_database(database_url)
    else:
        database_url = f"sqlite:///{work / 'bench.sqlite3'}"
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "ENCORE_ENV_FILE": str(work / "none.env"),
            "DATA_DIR": str(work),
            "DATABASE_URL": database_url,
            "SECRET_KEY": "bench-" + "k" * 40,
            "SPOTIFY_SIMULATOR": "false",
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            **settings,
        }
    )
    return dict(os.environ)


def django_migrate() -> None:
    """Django set up in this process, with bench_environment's settings, and its new database
    migrated."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def figures_measure(script: str, *args: str, env: Mapping[str, str]) -> Any:
    """Runs `script --measure *args` in a fresh process (its memory and its Django its own) and
    returns the JSON value its last line printed."""
    output = subprocess.run(
        [sys.executable, script, "--measure", *args],
        env=dict(env),
        cwd=ROOT,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest rank: the smallest value with `fraction` of all values at or below it (p95 of
    20 requests is the 19th, not the slowest); 0 for no values."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(round(fraction * len(ordered), 9)) - 1)] if ordered else 0.0


def peak_rss_mb(pids: Iterable[int | str] = ("self",)) -> float:
    """The peak resident memory (Linux's VmHWM) of these processes together, in MB; by default
    of this one."""
    total = 0
    for pid in pids:
        match = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
        total += int(match.group(1)) if match else 0
    return total / 1024


def peak_rss_reset() -> None:
    """This process's peak resident memory starts again from what it holds now (Linux)."""
    Path("/proc/self/clear_refs").write_text("5")


@dataclass(frozen=True)
class WebServer:
    port: int
    pid: int  # with several worker processes, their supervisor's: they are its children

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def web_server(env: Mapping[str, str], log: Path, *, workers: int = 1) -> Iterator[WebServer]:
    """uvicorn as the Procfile runs it (no access log: it would log whole URLs, tokens
    included) on a free port, with `workers` processes sharing its socket; yields once /healthz
    answers, and stops it afterwards."""
    from tests.processes import free_port, running, wait_healthy, web_command

    port = free_port()
    command = web_command(port)
    command = [*command[:-1], "--workers", str(workers), command[-1]]  # the last: the app
    with running(command, env=env, log=log) as proc:
        server = WebServer(port, proc.pid)
        wait_healthy(proc, server.base, log)
        yield server
