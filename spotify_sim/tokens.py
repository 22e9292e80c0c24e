"""OAuth values of the simulated accounts service: clients, codes, tokens, grants."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

ALL_SCOPES = frozenset(
    {
        "user-read-email", "user-read-private", "user-read-playback-state",
        "user-read-currently-playing", "user-read-recently-played", "playlist-read-private",
        "playlist-read-collaborative", "user-top-read", "user-library-read",
    }
)  # fmt: skip


class OAuthError(Exception):
    """A failure of the accounts service, answered as ``{"error", "error_description"}`` (400)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


@dataclass
class Client:
    client_id: str
    secret: str | None
    redirect_uris: tuple[str, ...] | None


@dataclass
class AuthCode:
    code: str
    client_id: str
    account_id: str
    redirect_uri: str
    scope: frozenset[str]
    challenge: str | None
    issued_ms: int
    used: bool = False


@dataclass
class AccessToken:
    token: str
    account_id: str
    client_id: str
    scope: frozenset[str]
    expires_ms: int
    revoked: bool = False


@dataclass
class RefreshToken:
    token: str
    account_id: str
    client_id: str
    scope: frozenset[str]
    consent_ms: int
    public: bool  # obtained with PKCE and no client secret: refreshing needs no secret either
    revoked: bool = False


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    scope: frozenset[str]
    expires_in: int
    refresh_token: str | None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "scope": " ".join(sorted(self.scope)),
            "expires_in": self.expires_in,
        }
        if self.refresh_token is not None:
            body["refresh_token"] = self.refresh_token
        return body


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a code verifier."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
