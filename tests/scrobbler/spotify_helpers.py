from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

from django.test import Client
from django.utils import timezone

from scrobbler.models import SpotifyAccount, User
from scrobbler.spotify import crypto
from tests.spotify_sim.conftest import Sim


def linked_account(
    user: User, *, spotify_user_id: str | None = None, **fields: object
) -> SpotifyAccount:
    """A linked account with made-up tokens, as if the OAuth dance had happened."""
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


def sim_linked_account(user: User, sim: Sim, sim_account: str, **fields: object) -> SpotifyAccount:
    """A link to a simulator account with real tokens minted by the simulator (no OAuth dance)."""
    sim.account(sim_account)
    grant = sim.control("POST", f"accounts/{sim_account}/tokens", {"client_id": "encore-demo"})
    return linked_account(
        user,
        spotify_user_id=sim_account,
        access_token_encrypted=crypto.encrypt(grant["access_token"]),
        refresh_token_encrypted=crypto.encrypt(grant["refresh_token"]),
        access_token_expires_at=timezone.now() + dt.timedelta(seconds=grant["expires_in"]),
        **fields,
    )


def start_link(client: Client, sim: Sim, sim_account: str) -> dict[str, str]:
    """Click "Link Spotify", let the simulator approve as `sim_account`; returns the callback's
    query (code and state) without visiting it yet."""
    response = client.post("/spotify/link")
    assert response.status_code == 302, response
    authorize = response["Location"]
    assert authorize.startswith(f"{sim.accounts}/authorize?"), authorize
    back = sim.http.get(f"{authorize}&sim_account={sim_account}")
    assert back.status_code == 302, back.text
    location = urlsplit(back.headers["Location"])
    assert location.path == "/spotify/callback", location
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def finish_link(client: Client, params: dict[str, str]) -> str:
    """Visit the callback; returns the page the user lands on."""
    response = client.get("/spotify/callback", params, follow=True)
    assert response.status_code == 200
    return response.content.decode()
