"""Media tokens: short-lived HMAC-signed permission for one device to fetch one track's bytes.

A token names the user, their playback session, the device that was the active speaker when it
was minted (with the session's speaker generation), the track and when it expires
(MEDIA_TOKEN_SECONDS after minting). It is refused once expired, or as soon as another speaker
becomes active.

A player fetches a track in many range requests with one token and one session, so the pure
parts of checking them (the token's signature, the session's signature and password hash) are
remembered per process; what can change (expiry, the session row, the account, the speaker) is
checked on every request."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import weakref
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import psycopg
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.operations import BaseDatabaseOperations
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from playback.models import LibraryFile, PlaybackSession

SALT = "encore.playback.media-token"


@dataclass(frozen=True)
class MediaGrant:
    user_id: int
    session_id: int
    device_id: int
    speaker_generation: int
    track_id: int
    expires_at: int  # Unix time


def media_token(session: PlaybackSession, track_id: int) -> str:
    """A token for the session's active device to fetch `track_id`."""
    if session.active_device_id is None:
        raise ValueError("the session has no active device")
    payload = [
        session.user_id,
        session.pk,
        session.active_device_id,
        session.speaker_generation,
        track_id,
        int(time.time()) + settings.MEDIA_TOKEN_SECONDS,
    ]
    return signing.Signer(salt=SALT).sign_object(payload)


def media_grant(token: str) -> MediaGrant | None:
    """What a token grants if it is genuine and unexpired (not yet checked against the session)."""
    grant = _genuine_grant(token)
    if grant is None or grant.expires_at <= time.time():
        return None
    return grant


@lru_cache(maxsize=4096)
def _genuine_grant(token: str) -> MediaGrant | None:
    try:
        payload = signing.Signer(salt=SALT).unsign_object(token)
    except (signing.BadSignature, ValueError):  # ValueError: not base64, not JSON
        return None
    if not (isinstance(payload, list) and len(payload) == 6):
        return None
    if not all(isinstance(value, int) and not isinstance(value, bool) for value in payload):
        return None
    return MediaGrant(*payload)


Found = tuple[int, bytes] | Literal["refused", "missing"]


def media_file(grant: MediaGrant, session_key: str) -> Found:
    """(library file id, path relative to MUSIC_ROOT) of the granted track if `session_key` is a
    signed-in session of the grant's user and the speaker the grant was minted for is still the
    active one (every change of speaker bumps the generation); "refused" if not; "missing" if the
    track has no readable file. Uses this thread's database connection.

    One hand-written query: the media endpoint asks this for every range a player fetches, and
    building the same through the ORM (session, user, speaker, file) cost ten times the answer.
    The session checks are Django's own (`django.contrib.auth.get_user` with the database session
    backend, the one Encore uses): not expired, the user id and an enabled backend in it, the
    password-derived hash matching (SECRET_KEY_FALLBACKS too), the account active."""
    with connection.cursor() as cursor:
        cursor.execute(_MEDIA_FILE_SQL, _media_file_params(grant, session_key, connection.ops))
        return _media_file_answer(grant, cursor.fetchone())


async def media_file_here(grant: MediaGrant, session_key: str) -> Found | None:
    """`media_file` without leaving the event loop, through a connection of its own (Django's
    are not for event loops, and one is made anew for each request's context): the trip to a
    thread and back costs more than the query. None if it could not be asked here (another
    database, a lock, a broken connection), for the caller to use `media_file` on a thread.

    - SQLite: a read-only connection per process. The database is a local file in WAL mode,
      where a read never waits for a writer; one that would wait (timeout 0) is left to a thread.
    - PostgreSQL: an asynchronous connection per event loop, on which the query is prepared
      once (unless DATABASES' OPTIONS set `prepare_threshold`: None for a PgBouncer that cannot
      keep prepared statements), which spares the server planning it for every request."""
    vendor = _vendor()
    if vendor == "sqlite":
        return _media_file_sqlite(grant, session_key)
    if vendor == "postgresql":
        return await _media_file_postgresql(grant, session_key)
    return None


@lru_cache(maxsize=1)
def _vendor() -> str:
    return connections.create_connection(DEFAULT_DB_ALIAS).vendor


def _media_file_sqlite(grant: MediaGrant, session_key: str) -> Found | None:
    global _sqlite  # one per process, opened at first use
    try:
        if _sqlite is None:
            django_side = connections.create_connection(DEFAULT_DB_ALIAS)
            opened = sqlite3.connect(**{**django_side.get_connection_params(), "timeout": 0})
            opened.execute("PRAGMA query_only = ON")
            _sqlite = (opened, django_side.ops)
        opened, ops = _sqlite
        cursor = opened.execute(_MEDIA_FILE_SQLITE, _media_file_params(grant, session_key, ops))
        return _media_file_answer(grant, cursor.fetchone())
    except sqlite3.Error:
        return None


_sqlite: tuple[sqlite3.Connection, BaseDatabaseOperations] | None = None


async def _media_file_postgresql(grant: MediaGrant, session_key: str) -> Found | None:
    loop = asyncio.get_running_loop()
    connecting = _postgresql.get(loop)
    if connecting is None:
        connecting = _postgresql[loop] = loop.create_task(_postgresql_connect())
    try:
        opened, ops = await connecting
        cursor = await opened.execute(_MEDIA_FILE_SQL, _media_file_params(grant, session_key, ops))
        return _media_file_answer(grant, await cursor.fetchone())
    except psycopg.Error:
        if _postgresql.get(loop) is connecting:  # broken: the next request connects anew
            del _postgresql[loop]
        if connecting.done() and not connecting.exception():
            await connecting.result()[0].close()
        return None


async def _postgresql_connect() -> tuple[psycopg.AsyncConnection[Any], BaseDatabaseOperations]:
    django_side = connections.create_connection(DEFAULT_DB_ALIAS)
    params = django_side.get_connection_params()
    params.pop("cursor_factory")  # Django's, for its synchronous connections
    if "prepare_threshold" not in django_side.settings_dict["OPTIONS"]:
        params.pop("prepare_threshold")  # psycopg's default: prepared at the fifth use
    opened = await psycopg.AsyncConnection.connect(**params, autocommit=True)
    return opened, django_side.ops


_postgresql: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop,
    asyncio.Task[tuple[psycopg.AsyncConnection[Any], BaseDatabaseOperations]],
] = weakref.WeakKeyDictionary()


def _media_file_params(grant: MediaGrant, session_key: str, ops: BaseDatabaseOperations) -> list[Any]:  # fmt: skip
    if settings.SESSION_ENGINE != "django.contrib.sessions.backends.db":
        raise ImproperlyConfigured("media_file reads sessions from the database session backend")
    now = ops.adapt_datetimefield_value(timezone.now())
    return [grant.track_id, grant.track_id, session_key, now, grant.user_id, grant.session_id, grant.device_id, grant.speaker_generation]  # fmt: skip


def _media_file_answer(grant: MediaGrant, row: tuple[Any, ...] | None) -> Found:
    if row is None:
        return "refused"
    session_data, password, is_active, file_id, path = row
    if not (is_active and _signed_in(grant.user_id, session_data, password)):
        return "refused"
    return "missing" if file_id is None else (file_id, bytes(path))


@lru_cache(maxsize=1024)
def _signed_in(user_id: int, session_data: str, password: str) -> bool:
    """Whether a session's data names this user, an enabled backend and the hash of this
    password (Django's `get_user`), given the rows as they are now."""
    session = SessionStore().decode(session_data)
    user = get_user_model()(pk=user_id, password=password)
    session_hash = session.get(HASH_SESSION_KEY) or ""
    return (
        session.get(SESSION_KEY) == str(user_id)
        and session.get(BACKEND_SESSION_KEY) in settings.AUTHENTICATION_BACKENDS
        and any(
            constant_time_compare(session_hash, known)
            for known in [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
        )
    )


def _forget_checked(*, setting: str, **_: Any) -> None:
    # What was remembered depends on the keys and backends it was checked with (tests change them).
    if setting in {"SECRET_KEY", "SECRET_KEY_FALLBACKS", "AUTHENTICATION_BACKENDS"}:
        _genuine_grant.cache_clear()
        _signed_in.cache_clear()


setting_changed.connect(_forget_checked)


def _media_file_sql() -> str:
    files = LibraryFile._meta.db_table
    # Table names from the models; every value is a parameter.
    first_file = f"SELECT {{}} FROM {files} WHERE track_id = %s AND error = '' ORDER BY id LIMIT 1"  # noqa: S608
    return f"""
        SELECT s.session_data, u.password, u.is_active,
               ({first_file.format("id")}), ({first_file.format("path")})
        FROM {Session._meta.db_table} s, {get_user_model()._meta.db_table} u,
             {PlaybackSession._meta.db_table} p
        WHERE s.session_key = %s AND s.expire_date > %s
          AND u.id = %s
          AND p.id = %s AND p.user_id = u.id
          AND p.active_device_id = %s AND p.speaker_generation = %s
    """  # noqa: S608


_MEDIA_FILE_SQL = _media_file_sql()
_MEDIA_FILE_SQLITE = _MEDIA_FILE_SQL.replace("%s", "?")  # sqlite3's own parameter style
