"""What can go wrong talking to Spotify, by what the caller must do about it."""

from __future__ import annotations


class SpotifyError(Exception):
    """Spotify answered in a way we cannot use; retry later."""


class SpotifyAuthError(SpotifyError):
    """The grant is gone (revoked, expired, invalid): the user must link Spotify again."""


class SpotifyRateLimited(SpotifyError):
    """429: call this account again no sooner than `retry_after` seconds from now."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited for {retry_after:g} s")
        self.retry_after = retry_after


class SpotifyUnavailable(SpotifyError):
    """5xx, a timeout or a network failure: back off and retry."""
