"""Media tokens: short-lived HMAC-signed permission for one device to fetch one track's bytes.

A token names the user, their playback session, the device that was the active speaker when it
was minted (with the session's speaker generation) and the track. It is refused once it is older
than MEDIA_TOKEN_SECONDS, or as soon as another speaker becomes active."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
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
    ]
    return signing.dumps(payload, salt=SALT)


def media_grant(token: str) -> MediaGrant | None:
    """What a token grants if it is genuine and fresh (not yet checked against the session)."""
    try:
        payload = signing.loads(token, salt=SALT, max_age=settings.MEDIA_TOKEN_SECONDS)
    except signing.BadSignature:  # also expired ones (SignatureExpired)
        return None
    if not (isinstance(payload, list) and len(payload) == 5):
        return None
    if not all(isinstance(value, int) and not isinstance(value, bool) for value in payload):
        return None
    return MediaGrant(*payload)


Found = tuple[int, bytes] | Literal["refused", "missing"]


def media_file(grant: MediaGrant, session_key: str) -> Found:
    """(library file id, path relative to MUSIC_ROOT) of the granted track if `session_key` is a
    signed-in session of the grant's user and the speaker the grant was minted for is still the
    active one (every change of speaker bumps the generation); "refused" if not; "missing" if the
    track has no readable file.

    One hand-written query: the media endpoint asks this for every range a player fetches, and
    building the same through the ORM (session, user, speaker, file) cost ten times the answer.
    The session checks are Django's own (`django.contrib.auth.get_user` with the database session
    backend, the one Encore uses): not expired, the user id and an enabled backend in it, the
    password-derived hash matching (SECRET_KEY_FALLBACKS too), the account active."""
    if settings.SESSION_ENGINE != "django.contrib.sessions.backends.db":
        raise ImproperlyConfigured("media_file reads sessions from the database session backend")
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(_MEDIA_FILE_SQL, [grant.track_id, grant.track_id, session_key, now, grant.user_id, grant.session_id, grant.device_id, grant.speaker_generation])  # fmt: skip
        row = cursor.fetchone()
    if row is None:
        return "refused"
    session_data, password, is_active, file_id, path = row
    session = SessionStore().decode(session_data)
    user = get_user_model()(pk=grant.user_id, password=password)
    session_hash = session.get(HASH_SESSION_KEY) or ""
    signed_in = (
        session.get(SESSION_KEY) == str(grant.user_id)
        and session.get(BACKEND_SESSION_KEY) in settings.AUTHENTICATION_BACKENDS
        and is_active
        and any(
            constant_time_compare(session_hash, known)
            for known in [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
        )
    )
    if not signed_in:
        return "refused"
    return "missing" if file_id is None else (file_id, bytes(path))


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
