"""The simulator mounted in Encore (demo mode) keeps its control API for staff (config/simulator.py):
anyone else, signed in or not, cannot list the simulated accounts, read their request logs or mint
their tokens (issue 19). The simulator run alone stays open; SPOTIFY_SIMULATOR_CONTROL_OPEN opens
the mounted one for tests."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from pytest_django import Settings

from scrobbler.models import User
from tests.spotify_sim.conftest import Sim

pytestmark = pytest.mark.skipif(not settings.SPOTIFY_SIMULATOR, reason="SPOTIFY_SIMULATOR is off")

MOUNT = "/spotify-sim/_control"
# What the issue found open: every account, one account's request log, fresh tokens.
READS = [f"{MOUNT}/accounts", f"{MOUNT}/accounts/alice/requests", f"{MOUNT}/clock"]
WRITES = [f"{MOUNT}/accounts/alice/tokens", f"{MOUNT}/reset", f"{MOUNT}/faults"]


@pytest.fixture
def listening(sim: Sim) -> Sim:
    """alice's simulated account, with a token whose use is in her request log (the mounted
    simulator is the same in-process simulator as the standalone server `sim` drives)."""
    sim.account("alice", display_name="Alice Secret")
    assert sim.get("me", sim.token("alice")).status_code == 200
    return sim


def assert_refused(client: Client) -> None:
    for url in READS:
        response = client.get(url)
        assert response.status_code == 403, url
        assert response.json() == {"error": "the simulator's control API is for staff only"}
    for url in WRITES:
        response = client.post(url, "{}", content_type="application/json")
        assert response.status_code == 403, url
        assert "access_token" not in response.text


@pytest.mark.django_db
def test_anonymous_and_signed_in_users_are_refused(listening: Sim, alice: User) -> None:
    client = Client(HTTP_HOST="127.0.0.1")
    assert_refused(client)
    client.force_login(alice)  # an Encore user named like the simulated account: still no
    assert_refused(client)
    assert len(listening.control("GET", "accounts")["accounts"]) == 1  # nothing was reset


@pytest.mark.django_db
def test_staff_use_it_with_the_csrf_token_their_session_needs(listening: Sim, staff: User) -> None:
    client = Client(HTTP_HOST="127.0.0.1", enforce_csrf_checks=True)
    client.force_login(staff)
    accounts = client.get(f"{MOUNT}/accounts").json()["accounts"]
    assert [a["display_name"] for a in accounts] == ["Alice Secret"]
    log = client.get(f"{MOUNT}/accounts/alice/requests").json()["requests"]
    assert [r["endpoint"] for r in log] == ["v1/me"]

    tokens = f"{MOUNT}/accounts/alice/tokens"
    assert client.post(tokens, "{}", content_type="application/json").status_code == 403
    client.get("/")  # any page sets the CSRF cookie
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post(tokens, "{}", content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    assert response.json()["access_token"]


@pytest.mark.django_db
def test_an_inactive_staff_account_is_refused(listening: Sim, staff: User) -> None:
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(staff)
    User.objects.filter(pk=staff.pk).update(is_active=False)
    assert_refused(client)


def test_the_setting_opens_it_to_scripts(listening: Sim, settings: Settings) -> None:
    settings.SPOTIFY_SIMULATOR_CONTROL_OPEN = True
    client = Client(HTTP_HOST="127.0.0.1", enforce_csrf_checks=True)  # no session: no CSRF
    assert client.get(f"{MOUNT}/accounts").json()["accounts"][0]["id"] == "alice"
    response = client.post(f"{MOUNT}/accounts/alice/tokens", "{}", content_type="application/json")
    assert response.json()["access_token"]


def test_the_web_api_and_the_standalone_control_api_stay_open(listening: Sim) -> None:
    client = Client(HTTP_HOST="127.0.0.1")
    assert client.get("/spotify-sim/v1/me").status_code == 401  # Spotify's own answer
    assert client.get("/spotify-sim/").json()["control"].endswith("/spotify-sim/_control/")
    assert listening.control("GET", "accounts/alice/requests")["requests"]  # no session at all
