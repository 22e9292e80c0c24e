from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from scrobbler.spotify.crypto import TokenKeyError
from scrobbler.spotify.tokens import spotify_tokens_reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored Spotify token with the newest key. Put the new key first in "
        "TOKEN_ENCRYPTION_KEYS (keeping the old ones after it), run this, then drop the old keys."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = spotify_tokens_reencrypt()
        except TokenKeyError as exc:
            raise CommandError(
                f"{exc}: keep the old key in TOKEN_ENCRYPTION_KEYS and retry"
            ) from exc
        self.stdout.write(
            f"re-encrypted the tokens of {count} Spotify account(s) with the newest key"
        )
