"""Reading settings from the environment, with errors that name the variable at fault."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import environ
from django.core.exceptions import ImproperlyConfigured

DATABASE_SCHEMES = {"sqlite", "postgres", "postgresql", "pgsql"}


class ConfigError(ImproperlyConfigured):
    """A setting is missing or invalid; the message names the variable and says what to do."""


def secret(env: environ.Env, name: str, *, default: str | None = None) -> str:
    """Read NAME, or the contents of the file named by NAME_FILE (Docker secrets)."""
    path = env.str(f"{name}_FILE", default="")
    if path:
        try:
            value = Path(path).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE: cannot read {path}: {exc.strerror}") from exc
    else:
        value = env.str(name, default="")
    if value:
        return value
    if default is not None:
        return default
    raise ConfigError(f"{name} is not set: add it to the environment or .env (see .env.example)")


def fernet_keys(value: str, *, fallback: str) -> list[bytes]:
    """TOKEN_ENCRYPTION_KEYS as Fernet keys, newest first; empty: one derived from `fallback`."""
    from cryptography.fernet import Fernet

    if not value:
        return [
            base64.urlsafe_b64encode(hashlib.sha256(f"encore-tokens:{fallback}".encode()).digest())
        ]
    keys = [key.strip().encode() for key in value.split(",") if key.strip()]
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError as exc:
            raise ConfigError(
                f"TOKEN_ENCRYPTION_KEYS: key {position} is not a Fernet key "
                "(32 url-safe base64-encoded bytes)"
            ) from exc
    return keys


def redact_url(url: str) -> str:
    """The URL with any password replaced, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def database_from_url(
    url: str,
    *,
    conn_max_age: int,
    pool_size: int = 0,
    statement_timeout: int = 0,
    idle_in_transaction_timeout: int = 0,
) -> dict[str, Any]:
    """Django's DATABASES entry for DATABASE_URL; only SQLite and PostgreSQL are supported.
    With `pool_size`, PostgreSQL connections come from a pool of at most that many per process
    (requests beyond it wait for one rather than fail). On PostgreSQL, a statement running longer
    than `statement_timeout` seconds is cancelled, and a session idle inside a transaction for
    `idle_in_transaction_timeout` seconds is ended (0: no limit)."""
    scheme = urlsplit(url).scheme
    if scheme not in DATABASE_SCHEMES:
        raise ConfigError(
            f"DATABASE_URL must start with sqlite:/// or postgres:// (got {redact_url(url)!r})"
        )
    try:
        config = environ.Env.db_url_config(url)
    except Exception as exc:  # django-environ raises assorted errors on malformed URLs
        raise ConfigError(f"DATABASE_URL is invalid ({redact_url(url)}): {exc}") from exc
    engine = config["ENGINE"]
    if not config.get("NAME"):
        raise ConfigError(f"DATABASE_URL names no database ({redact_url(url)})")
    if engine == "django.db.backends.sqlite3":
        Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        # WAL lets the web process read while a worker writes; IMMEDIATE transactions take the
        # write lock up front so concurrent writers wait (timeout) instead of failing mid-way.
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
        return config
    # Server settings for every session, given at connect time (libpq's `options`), so that a
    # runaway query or a forgotten transaction cannot hold locks and a connection for ever.
    config["OPTIONS"] = {
        "options": f"-c statement_timeout={statement_timeout * 1000} "
        f"-c idle_in_transaction_session_timeout={idle_in_transaction_timeout * 1000}"
    }
    if pool_size > 0:
        config["OPTIONS"]["pool"] = {"min_size": 1, "max_size": pool_size, "timeout": 30}
    else:
        config["CONN_MAX_AGE"] = conn_max_age
        config["CONN_HEALTH_CHECKS"] = True
    return config


def env_file() -> Path | None:
    """The .env file to read: ENCORE_ENV_FILE, else .env at the project root, if it exists."""
    path = Path(
        os.environ.get("ENCORE_ENV_FILE") or Path(__file__).resolve().parent.parent / ".env"
    )
    return path if path.is_file() else None
