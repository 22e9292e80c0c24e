"""Start Encore's real processes (the web server, Celery worker, manage.py) from tests, and clean
up."""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def database_url(settings_dict: Mapping[str, Any], *, name: str | None = None) -> str:
    """The DATABASE_URL that points another process at this connection (optionally another db)."""
    db_name = name or settings_dict["NAME"]
    if settings_dict["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(db_name).resolve()}"
    user = settings_dict.get("USER") or ""
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or ""
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{db_name}"


def process_env(data_dir: Path, static_root: Path, **overrides: str) -> dict[str, str]:
    """The environment of a real Encore process that shares the test database."""
    # With REDIS_URL, each test's servers cache apart from earlier tests' (as the test's own
    # process does, in memory): a page one test's server cached must not show in the next test.
    apart = hashlib.sha1(str(data_dir).encode(), usedforsecurity=False).hexdigest()[:12]
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.update(
        ENCORE_ENV_FILE=str(data_dir / "no.env"),  # never the developer's .env
        DATA_DIR=str(data_dir),
        STATIC_ROOT=str(static_root),
        DATABASE_URL=database_url(connection.settings_dict),
        SECRET_KEY=os.environ["SECRET_KEY"],
        PYTHONUNBUFFERED="1",
        CACHE_KEY_PREFIX=f"encore-test-{apart}",
        # Tests sign in and send controls far more often than people do (the limits' tests set
        # their own).
        SIGN_IN_RATE_PER_IP="10000/m",
        SIGN_IN_RATE_PER_USERNAME="10000/m",
        PLAYBACK_CONTROL_RATE="10000/m",
        IMPORT_UPLOAD_RATE="10000/m",
    )
    env.update(overrides)
    return env


def manage(
    *args: str, env: Mapping[str, str], timeout: float = 60, tree: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """`manage.py <args>` of the Encore in `tree` (this one by default)."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=tree,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(
    args: list[str], *, env: Mapping[str, str], log: Path, hurry: bool = False
) -> Iterator[subprocess.Popen[bytes]]:
    """Runs `args` for the block, then stops it with SIGTERM (SIGKILL 15 s later). `hurry`: a
    web server still waiting for open connections half a second after SIGTERM gets SIGINT too,
    uvicorn's force quit (Ctrl-C twice)."""
    with log.open("wb") as out:
        proc = subprocess.Popen(args, cwd=ROOT, env=dict(env), stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            proc.send_signal(signal.SIGTERM)
            if hurry:
                with suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=0.5)
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def web_command(port: int) -> list[str]:
    """The Procfile's web command (uvicorn serving config.asgi, as scripts/run starts it) on
    127.0.0.1:`port`, from this virtualenv."""
    procfile = (ROOT / "Procfile").read_text().splitlines()
    (line,) = [line.removeprefix("web:") for line in procfile if line.startswith("web:")]
    values = {"$HOST": "127.0.0.1", "$WEB_PORT": str(port)}
    program, *args = [values.get(arg, arg) for arg in shlex.split(line)]
    return [str(BIN / program), *args]


@contextmanager
def web_server(env: Mapping[str, str], log: Path, *, port: int | None = None) -> Iterator[str]:
    """The web server as the Procfile runs it (on a free port unless given); yields its base URL
    once /healthz answers. It is stopped in a hurry: the test's requests are done, and an event
    stream left open (a browser page, a reader thread) would hold the stop for the graceful
    shutdown's seconds (test_realtime checks that bound)."""
    with web_process(env, log, port=port) as (_, base):
        yield base


@contextmanager
def web_process(
    env: Mapping[str, str], log: Path, *, port: int | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`web_server`, with the server's process as well (to read its /proc/<pid>/io)."""
    port = port or free_port()
    with running(web_command(port), env=env, log=log, hurry=True) as proc:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(proc, base, log)
        yield proc, base


def wait_healthy(proc: subprocess.Popen[bytes], base: str, log: Path) -> None:
    """Returns once the web server `proc` at `base` answers /healthz."""
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the web server exited with {proc.returncode}: {log.read_text()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the web server did not start: {log.read_text()}")
        time.sleep(0.1)


@contextmanager
def celery_worker(env: Mapping[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    args = [
        str(BIN / "celery"), "--app", "config", "worker", "--loglevel", "INFO",
        "--concurrency", "1", "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    with running(args, env=env, log=log) as proc:
        yield proc


@contextmanager
def celery_beat(env: Mapping[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    args = [str(BIN / "celery"), "--app", "config", "beat", "--loglevel", "INFO"]
    with running(args, env=env, log=log) as proc:
        yield proc


def sign_in(base: str, username: str, password: str) -> httpx.Client:
    """An HTTP client signed in through the real sign-in form."""
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=10)
    page = client.get("/accounts/login/")
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert match, "sign-in page has no CSRF token"
    response = client.post(
        "/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": match.group(1)},
    )
    assert response.status_code == 302, response.text
    return client


def csrf_token(client: httpx.Client) -> str:
    return str(client.cookies["csrftoken"])
