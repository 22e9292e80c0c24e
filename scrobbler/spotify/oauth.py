"""Spotify's authorization-code flow with PKCE, and token refresh (accounts service calls only)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.core import signing

from scrobbler.spotify.errors import SpotifyAuthError, SpotifyError, SpotifyUnavailable

SCOPES = (
    "user-read-currently-playing user-read-recently-played user-read-playback-state "
    "user-read-private user-read-email playlist-read-private"
)
STATE_MAX_AGE_SECONDS = 600
STATE_SALT = "scrobbler.spotify.oauth.state"
TIMEOUT_SECONDS = 10
# Spotify refresh tokens expire six months after the user's consent (since 2026-07-20).
REFRESH_TOKEN_LIFETIME = timedelta(days=182)


@dataclass(frozen=True)
class PendingAuthorization:
    """What the browser session keeps between the redirect to Spotify and the callback."""

    nonce: str
    code_verifier: str
    redirect_uri: str

    def as_session(self) -> dict[str, str]:
        return {"nonce": self.nonce, "verifier": self.code_verifier, "redirect": self.redirect_uri}

    @classmethod
    def from_session(cls, data: object) -> PendingAuthorization | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(data["nonce"], data["verifier"], data["redirect"])
        except KeyError:
            return None


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    refresh_token: str | None  # None: Spotify kept the old one
    expires_at: datetime
    scope: str


def begin(*, redirect_uri: str) -> tuple[str, PendingAuthorization]:
    """The Spotify authorize URL to send the browser to, and what to keep in its session."""
    pending = PendingAuthorization(
        nonce=secrets.token_urlsafe(24),
        code_verifier=secrets.token_urlsafe(64),
        redirect_uri=redirect_uri,
    )
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(pending.code_verifier.encode()).digest()
    ).rstrip(b"=")
    query = urlencode(
        {
            "client_id": settings.SPOTIFY_CLIENT_ID,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "scope": SCOPES,
            "state": signing.dumps(pending.nonce, salt=STATE_SALT),
            "code_challenge_method": "S256",
            "code_challenge": challenge.decode(),
        }
    )
    return f"{settings.SPOTIFY_ACCOUNTS_BASE_URL}/authorize?{query}", pending


def state_matches(state: str, pending: PendingAuthorization | None) -> bool:
    """The state is ours, recent, and for this very browser session's pending authorization."""
    if pending is None:
        return False
    try:
        nonce = signing.loads(state, salt=STATE_SALT, max_age=STATE_MAX_AGE_SECONDS)
    except signing.BadSignature:
        return False
    return isinstance(nonce, str) and secrets.compare_digest(nonce, pending.nonce)


def exchange_code(*, code: str, pending: PendingAuthorization, now: datetime) -> TokenGrant:
    return _token_request(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": pending.redirect_uri,
            "code_verifier": pending.code_verifier,
        },
        now=now,
    )


def refresh(*, refresh_token: str, now: datetime) -> TokenGrant:
    return _token_request({"grant_type": "refresh_token", "refresh_token": refresh_token}, now=now)


def _token_request(form: dict[str, str], *, now: datetime) -> TokenGrant:
    try:
        response = requests.post(
            f"{settings.SPOTIFY_ACCOUNTS_BASE_URL}/api/token",
            data={**form, "client_id": settings.SPOTIFY_CLIENT_ID},
            auth=(settings.SPOTIFY_CLIENT_ID, settings.SPOTIFY_CLIENT_SECRET),
            timeout=TIMEOUT_SECONDS,
        )
    except requests.RequestException as exc:
        raise SpotifyUnavailable(
            f"Spotify's accounts service is unreachable: {type(exc).__name__}"
        ) from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise SpotifyUnavailable(f"Spotify's accounts service answered {response.status_code}")
    try:
        body = response.json()
    except ValueError as exc:
        raise SpotifyError(
            f"Spotify's token endpoint answered {response.status_code}, not JSON"
        ) from exc
    if response.status_code != 200:
        error = body.get("error", "unknown") if isinstance(body, dict) else "unknown"
        # Only Spotify's error code goes into the message: never the request, which holds secrets.
        if error in {"invalid_grant", "invalid_client", "unauthorized_client"}:
            raise SpotifyAuthError(f"Spotify refused the grant ({error})")
        raise SpotifyError(f"Spotify's token endpoint answered {response.status_code} ({error})")
    try:
        return TokenGrant(
            access_token=str(body["access_token"]),
            refresh_token=str(body["refresh_token"]) if body.get("refresh_token") else None,
            expires_at=now + timedelta(seconds=int(body.get("expires_in", 3600))),
            scope=str(body.get("scope", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SpotifyError("Spotify's token response lacks an access token") from exc
