"""Maintenance of stored tokens."""

from __future__ import annotations

from django.db import transaction

from scrobbler.models import SpotifyAccount
from scrobbler.spotify import crypto


def spotify_tokens_reencrypt() -> int:
    """Re-encrypt every account's tokens with the newest key; each row under its own lock, so a
    refresh running meanwhile is neither lost nor overwritten."""
    count = 0
    for account_id in SpotifyAccount.objects.values_list("pk", flat=True).iterator():
        with transaction.atomic():
            account = SpotifyAccount.objects.select_for_update().filter(pk=account_id).first()
            if account is None:
                continue  # unlinked meanwhile
            account.access_token_encrypted = crypto.rotate(account.access_token_encrypted)
            account.refresh_token_encrypted = crypto.rotate(account.refresh_token_encrypted)
            account.save(update_fields=["access_token_encrypted", "refresh_token_encrypted"])
        count += 1
    return count
