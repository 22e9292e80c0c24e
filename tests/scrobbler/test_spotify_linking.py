"""Linking Spotify through the real OAuth flow against the simulator, and keeping tokens valid."""

from __future__ import annotations

from functools import partial

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django import Settings

from scrobbler.models import SpotifyAccount, SpotifyWaitlistEntry, User
from scrobbler.spotify import accounts, crypto
from scrobbler.spotify.errors import SpotifyAuthError
from tests.concurrency import at_once
from tests.factories import UserFactory
from tests.scrobbler.spotify_helpers import finish_link, sim_linked_account, start_link
from tests.spotify_sim.conftest import Sim

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_client(client: Client, alice: User) -> Client:
    client.force_login(alice)
    return client


def expire_access_token(account: SpotifyAccount) -> None:
    SpotifyAccount.objects.filter(pk=account.pk).update(access_token_expires_at=timezone.now())


def test_linking_stores_the_spotify_identity_and_encrypted_tokens(
    alice_client: Client, alice: User, spotify: Sim
) -> None:
    page = finish_link(alice_client, start_link(alice_client, spotify, "alice-sp"))
    assert "Spotify is linked" in page
    account = SpotifyAccount.objects.get(user=alice)
    assert account.spotify_user_id == "alice-sp"
    assert account.status == SpotifyAccount.Status.ACTIVE
    assert "user-read-recently-played" in account.scope
    token = crypto.decrypt(account.access_token_encrypted)
    assert token not in account.access_token_encrypted
    assert spotify.get("me", token).json()["id"] == "alice-sp"


def test_a_tampered_state_is_refused_and_nothing_is_stored(
    alice_client: Client, alice: User, spotify: Sim
) -> None:
    params = start_link(alice_client, spotify, "alice-sp")
    page = finish_link(alice_client, {**params, "state": params["state"][:-2] + "xx"})
    assert "did not start here" in page
    assert not SpotifyAccount.objects.exists()


def test_a_state_from_another_browser_session_is_refused(
    alice_client: Client, spotify: Sim
) -> None:
    mallory = Client()
    mallory.force_login(UserFactory.create(username="mallory"))
    params = start_link(mallory, spotify, "mallory-sp")
    page = finish_link(alice_client, params)  # the attacker's callback, in alice's browser
    assert "did not start here" in page
    assert not SpotifyAccount.objects.exists()


def test_a_reused_state_is_refused(alice_client: Client, alice: User, spotify: Sim) -> None:
    params = start_link(alice_client, spotify, "alice-sp")
    finish_link(alice_client, params)
    before = SpotifyAccount.objects.get(user=alice).access_token_encrypted
    assert "did not start here" in finish_link(alice_client, params)
    assert SpotifyAccount.objects.get(user=alice).access_token_encrypted == before


def test_a_wrong_pkce_verifier_is_refused_and_nothing_is_stored(
    alice_client: Client, spotify: Sim
) -> None:
    params = start_link(alice_client, spotify, "alice-sp")
    session = alice_client.session
    pending = session[accounts.SESSION_KEY]
    session[accounts.SESSION_KEY] = {**pending, "verifier": "x" * 86}
    session.save()
    assert "did not complete the sign-in" in finish_link(alice_client, params)
    assert not SpotifyAccount.objects.exists()


def test_denied_access_stores_nothing(alice_client: Client, spotify: Sim) -> None:
    response = alice_client.post("/spotify/link")
    back = spotify.http.get(f"{response['Location']}&sim_deny=1")
    query = back.headers["Location"].split("?", 1)[1]
    page = alice_client.get(f"/spotify/callback?{query}", follow=True).content.decode()
    assert "not granted" in page
    assert not SpotifyAccount.objects.exists()


def test_one_spotify_account_cannot_serve_two_users(
    alice_client: Client, bob: User, spotify: Sim
) -> None:
    finish_link(alice_client, start_link(alice_client, spotify, "shared-sp"))
    bob_client = Client()
    bob_client.force_login(bob)
    page = finish_link(bob_client, start_link(bob_client, spotify, "shared-sp"))
    assert "already linked to another Encore user" in page
    assert not SpotifyAccount.objects.filter(user=bob).exists()


def test_past_the_cap_users_wait_until_an_admin_admits_them(
    alice_client: Client, bob: User, spotify: Sim, settings: Settings
) -> None:
    settings.SPOTIFY_LINK_CAP = 1
    finish_link(alice_client, start_link(alice_client, spotify, "alice-sp"))
    bob_client = Client()
    bob_client.force_login(bob)
    response = bob_client.post("/spotify/link")
    assert response["Location"] == "/spotify/"  # not sent to Spotify at all
    assert "waitlist" in bob_client.get("/spotify/").content.decode()
    entry = SpotifyWaitlistEntry.objects.get(user=bob)
    accounts.spotify_waitlist_admit(entries=[entry])
    finish_link(bob_client, start_link(bob_client, spotify, "bob-sp"))
    assert SpotifyAccount.objects.get(user=bob).slot is None  # admitted past the cap
    assert not SpotifyWaitlistEntry.objects.filter(user=bob).exists()


@pytest.mark.django_db(transaction=True)
def test_simultaneous_links_never_exceed_the_cap(spotify: Sim, settings: Settings) -> None:
    settings.SPOTIFY_LINK_CAP = 1
    clients, params = [], []
    for n in range(3):
        client = Client()
        client.force_login(UserFactory.create(username=f"racer{n}"))
        clients.append(client)
        params.append(start_link(client, spotify, f"racer{n}-sp"))
    at_once(*[partial(c.get, "/spotify/callback", p) for c, p in zip(clients, params, strict=True)])
    assert SpotifyAccount.objects.count() == 1
    assert SpotifyWaitlistEntry.objects.count() == 2


def test_unlink_deletes_the_tokens_and_keeps_the_history(
    alice_client: Client, alice: User, spotify: Sim
) -> None:
    from tests.factories import PlayFactory

    finish_link(alice_client, start_link(alice_client, spotify, "alice-sp"))
    PlayFactory.create(user=alice)
    alice_client.post("/spotify/unlink")
    assert not SpotifyAccount.objects.filter(user=alice).exists()
    assert alice.plays.count() == 1


def test_expired_access_token_is_refreshed_and_the_refresh_token_kept(
    alice: User, spotify: Sim
) -> None:
    account = sim_linked_account(alice, spotify, "alice-sp")
    refresh_before = crypto.decrypt(account.refresh_token_encrypted)
    expire_access_token(account)
    token = accounts.spotify_access_token(account_id=account.pk)
    account.refresh_from_db()
    assert crypto.decrypt(account.access_token_encrypted) == token
    assert account.access_token_expires_at > timezone.now()
    assert crypto.decrypt(account.refresh_token_encrypted) == refresh_before
    assert spotify.control("GET", "accounts/alice-sp")["refresh_count"] == 1
    assert spotify.get("me", token).status_code == 200


def test_a_rotated_refresh_token_is_stored_and_used_next_time(alice: User, spotify: Sim) -> None:
    account = sim_linked_account(alice, spotify, "alice-sp")
    spotify.account("alice-sp", options={"rotate_refresh_tokens": True})
    refresh_before = crypto.decrypt(account.refresh_token_encrypted)
    for _ in range(2):  # the second refresh only works with the rotated token
        expire_access_token(account)
        accounts.spotify_access_token(account_id=account.pk)
    account.refresh_from_db()
    assert crypto.decrypt(account.refresh_token_encrypted) != refresh_before
    assert spotify.control("GET", "accounts/alice-sp")["refresh_count"] == 2


def test_a_refresh_response_without_a_refresh_token_keeps_the_old_one(
    alice: User, spotify: Sim
) -> None:
    account = sim_linked_account(alice, spotify, "alice-sp")
    spotify.account("alice-sp", options={"omit_refresh_token": True})
    refresh_before = account.refresh_token_encrypted
    for _ in range(2):
        expire_access_token(account)
        accounts.spotify_access_token(account_id=account.pk)
    account.refresh_from_db()
    assert account.refresh_token_encrypted == refresh_before


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_cause_exactly_one_refresh(spotify: Sim) -> None:
    account = sim_linked_account(UserFactory.create(username="alice"), spotify, "alice-sp")
    expire_access_token(account)
    tokens = at_once(*[partial(accounts.spotify_access_token, account_id=account.pk)] * 5)
    assert all(isinstance(token, str) for token in tokens)
    assert len(set(tokens)) == 1
    assert len(tokens) == 5
    assert spotify.control("GET", "accounts/alice-sp")["refresh_count"] == 1


def test_a_revoked_grant_marks_the_link_for_relinking_and_nothing_else(
    alice: User, bob: User, spotify: Sim
) -> None:
    revoked = sim_linked_account(alice, spotify, "alice-sp")
    healthy = sim_linked_account(bob, spotify, "bob-sp")
    spotify.control("POST", "accounts/alice-sp/revoke")
    expire_access_token(revoked)
    expire_access_token(healthy)
    with pytest.raises(SpotifyAuthError):
        accounts.spotify_access_token(account_id=revoked.pk)
    revoked.refresh_from_db()
    assert revoked.status == SpotifyAccount.Status.NEEDS_RELINK
    assert "invalid_grant" in revoked.status_detail
    assert accounts.spotify_access_token(account_id=healthy.pk)
    with pytest.raises(SpotifyAuthError):  # no further refresh attempts for the revoked link
        accounts.spotify_access_token(account_id=revoked.pk)
    assert spotify.control("GET", "accounts/alice-sp")["refresh_failures"] == 1


def test_a_rejected_access_token_is_refreshed_once_and_the_call_retried(
    alice: User, spotify: Sim
) -> None:
    account = sim_linked_account(alice, spotify, "alice-sp")
    spotify.advance(3_700)  # Spotify's clock passes the expiry that Encore does not know about
    me = accounts.spotify_call(account_id=account.pk, request=lambda client: client.me())
    assert me["id"] == "alice-sp"
    assert spotify.control("GET", "accounts/alice-sp")["refresh_count"] == 1
