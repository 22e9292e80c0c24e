from __future__ import annotations

import datetime as dt

from django.utils import timezone

from scrobbler.models import SpotifyAccount, User
from scrobbler.spotify import crypto


def linked_account(
    user: User, *, spotify_user_id: str | None = None, **fields: object
) -> SpotifyAccount:
    """A linked account with known tokens, as if the OAuth dance had happened."""
    now = timezone.now()
    values: dict[str, object] = {
        "spotify_user_id": spotify_user_id or f"sp-{user.username}",
        "access_token_encrypted": crypto.encrypt(f"access-{user.username}"),
        "refresh_token_encrypted": crypto.encrypt(f"refresh-{user.username}"),
        "access_token_expires_at": now + dt.timedelta(hours=1),
        "consented_at": now,
        **fields,
    }
    return SpotifyAccount.objects.create(user=user, **values)
