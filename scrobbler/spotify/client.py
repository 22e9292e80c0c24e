"""The spotipy client for one account's access token, and Spotify's failures mapped to ours."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from typing import TypeVar

import requests
import spotipy
from django.conf import settings

from scrobbler.spotify.errors import (
    SpotifyAuthError,
    SpotifyError,
    SpotifyRateLimited,
    SpotifyUnavailable,
)

SPOTIFY_ID = re.compile(r"[0-9A-Za-z]{22}")
TIMEOUT_SECONDS = 10
# Retry-After is sometimes missing or 0; hours have been seen, so it is honoured but capped.
DEFAULT_RETRY_AFTER_SECONDS = 30.0
MIN_RETRY_AFTER_SECONDS = 1.0
MAX_RETRY_AFTER_SECONDS = 24 * 3600.0

T = TypeVar("T")


class AccessTokenExpired(SpotifyError):
    """401 from the Web API: refresh the access token once and try again."""


def validate_spotify_id(value: str) -> str:
    """A Spotify id safe to put into a URL path; anything else is refused before any request."""
    if not SPOTIFY_ID.fullmatch(value):
        raise ValueError(f"not a Spotify id: {value[:40]!r}")
    return value


_local = threading.local()


def spotify_client(access_token: str) -> spotipy.Spotify:
    """spotipy pointed at SPOTIFY_API_BASE_URL, with its own retries and sleeps off: a 429 is
    the poller's to schedule, never a sleep inside a worker.

    One client per thread, re-armed with each call's token, so its HTTP connections to Spotify
    are kept alive between polls (a new spotipy client would close them when collected).
    """
    client: spotipy.Spotify | None = getattr(_local, "client", None)
    if client is None:
        session = requests.Session()
        # No ~/.netrc or proxy variables consulted on every request (they cost ~5% of a poll).
        session.trust_env = False
        client = _local.client = spotipy.Spotify(
            requests_session=session,
            requests_timeout=TIMEOUT_SECONDS,
            retries=0,
            status_retries=0,
            backoff_factor=0,
            # An empty list would mean spotipy's default, which retries 429s and drops Retry-After.
            status_forcelist=(500,),
        )
    client.set_auth(access_token)
    client.prefix = settings.SPOTIFY_API_BASE_URL.rstrip("/") + "/"
    return client


def retry_after_seconds(headers: Mapping[str, str] | None) -> float:
    value = None
    for name, header_value in (headers or {}).items():
        if name.lower() == "retry-after":
            value = header_value
    try:
        seconds = float(value) if value is not None else DEFAULT_RETRY_AFTER_SECONDS
    except ValueError:
        seconds = DEFAULT_RETRY_AFTER_SECONDS
    return min(max(seconds, MIN_RETRY_AFTER_SECONDS), MAX_RETRY_AFTER_SECONDS)


def call_spotify(access_token: str, request: Callable[[spotipy.Spotify], T]) -> T:
    """Run one Web API request; failures come out as SpotifyError subclasses."""
    try:
        return request(spotify_client(access_token))
    except spotipy.SpotifyException as exc:
        status = exc.http_status
        if status == 429:
            raise SpotifyRateLimited(retry_after_seconds(exc.headers)) from exc
        if status == 401:
            raise AccessTokenExpired("Spotify refused the access token") from exc
        if status == 403:
            raise SpotifyAuthError("Spotify refused access (403): the grant lacks a scope") from exc
        if status is None or status >= 500:
            raise SpotifyUnavailable(f"Spotify answered {status}") from exc
        raise SpotifyError(f"Spotify answered {status}") from exc
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise SpotifyUnavailable(f"Spotify is unreachable: {type(exc).__name__}") from exc
    except requests.JSONDecodeError as exc:
        raise SpotifyUnavailable("Spotify answered with a body that is not JSON") from exc
