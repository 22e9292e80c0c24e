"""Media tokens: short-lived HMAC-signed permission for one device to fetch one track's bytes.

A token names the user, their playback session, the device that was the active speaker when it
was minted (with the session's speaker generation) and the track. It is refused once it is older
than MEDIA_TOKEN_SECONDS, or as soon as another speaker becomes active."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing

from playback.models import PlaybackSession

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


def media_token_allows(token: str, *, user_id: int | None, track_id: int) -> bool:
    """Whether `token` lets the signed-in user `user_id` fetch `track_id` now: genuine, fresh,
    theirs, for this track, and minted for the speaker that is still active."""
    grant = media_grant(token)
    if grant is None or user_id is None:
        return False
    if grant.user_id != user_id or grant.track_id != track_id:
        return False
    return PlaybackSession.objects.filter(
        pk=grant.session_id,
        user_id=user_id,
        active_device_id=grant.device_id,
        speaker_generation=grant.speaker_generation,
    ).exists()
