"""Demo mode: the demo user's Spotify is the simulator mounted in Encore's own web process."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import requests
from django.conf import settings

from scrobbler.models import SpotifyAccount, User
from scrobbler.spotify import accounts

log = logging.getLogger(__name__)

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"  # noqa: S105 (demo mode only: the welcome and sign-in pages say it)
DEMO_SIM_ACCOUNT = "demo"


def demo_sign_in() -> tuple[str, str] | None:
    """The demo account's username and password to show visitors, in demo mode only."""
    return (DEMO_USERNAME, DEMO_PASSWORD) if settings.DEMO_MODE else None


def demo_link_if_needed() -> bool:
    """Link the demo user to the simulator through the real OAuth flow, server-side, when it is
    not linked (first start) or its link broke (the simulator forgets its tokens on restart).

    Returns whether a link was made. Does nothing outside demo mode.
    """
    if not settings.DEMO_MODE:
        return False
    user = User.objects.filter(username=DEMO_USERNAME).first()
    if user is None:
        return False
    status = SpotifyAccount.objects.filter(user=user).values_list("status", flat=True).first()
    if status == SpotifyAccount.Status.ACTIVE:
        return False
    session: dict[str, object] = {}
    redirect_uri = f"http://127.0.0.1:{settings.WEB_PORT}/spotify/callback"
    url = accounts.spotify_link_begin(session=session, redirect_uri=redirect_uri)
    try:
        # The simulator approves at once as the account named here and redirects with a code.
        response = requests.get(
            f"{url}&sim_account={DEMO_SIM_ACCOUNT}", allow_redirects=False, timeout=10
        )
    except requests.RequestException as exc:
        log.info("demo link: the simulator is not reachable yet (%s)", type(exc).__name__)
        return False
    query = parse_qs(urlsplit(response.headers.get("Location", "")).query)
    try:
        accounts.spotify_link_complete(
            user=user,
            session=session,
            state=query.get("state", [""])[0],
            code=query.get("code", [""])[0],
            error=query.get("error", [""])[0],
        )
    except accounts.LinkRefused as exc:
        log.warning("demo link refused: %s", exc)
        return False
    log.info("demo user linked to the Spotify simulator")
    return True
