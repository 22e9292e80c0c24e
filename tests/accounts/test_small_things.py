"""The small things: the demo account named on the welcome and sign-in pages in demo mode only,
a new account in the browser's time zone, a link to change the password, and destructive
buttons that look dangerous and ask first."""

from __future__ import annotations

import pytest
from django.test import Client
from pytest_django import Settings

from scrobbler.models import User
from tests.conftest import PASSWORD
from tests.scrobbler.spotify_helpers import linked_account

pytestmark = pytest.mark.django_db

SIGNUP = "/accounts/signup/"
DEMO_HINT = "Try the demo: sign in as <strong>demo</strong> / <strong>demo</strong>"


@pytest.mark.parametrize("url", ["/", "/accounts/login/"])
def test_demo_mode_names_the_demo_account(client: Client, settings: Settings, url: str) -> None:
    settings.DEMO_MODE = True
    assert DEMO_HINT in client.get(url).text
    settings.DEMO_MODE = False
    assert "Try the demo" not in client.get(url).text


def signup(client: Client, username: str, time_zone: str) -> User:
    data = {
        "username": username,
        "email": f"{username}@example.com",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "time_zone": time_zone,
    }
    response = client.post(SIGNUP, data)
    assert response.status_code == 302, response.text
    return User.objects.get(username=username)


def test_a_new_account_starts_in_the_browsers_time_zone(client: Client, settings: Settings) -> None:
    settings.REGISTRATION = "open"
    page = client.get(SIGNUP).text
    assert 'type="hidden" name="time_zone"' in page
    assert "js/timezone.js" in page  # what fills it in from Intl
    assert signup(client, "carol", "Asia/Tokyo").time_zone == "Asia/Tokyo"
    client.logout()
    # A zone tzdata does not know, or none (no JavaScript), leaves UTC.
    assert signup(client, "dave", "Mars/Olympus_Mons").time_zone == "UTC"
    client.logout()
    assert signup(client, "erin", "").time_zone == "UTC"


def test_settings_link_to_the_password_change(client: Client, alice: User) -> None:
    client.force_login(alice)
    page = client.get("/settings/").text
    assert 'href="/accounts/password/"' in page
    assert "starts in the time zone of the browser" in page
    assert client.get("/accounts/password/").status_code == 200


def test_destructive_buttons_look_dangerous_and_ask_first(client: Client, alice: User) -> None:
    linked_account(alice)
    client.force_login(alice)
    for url in ("/settings/", "/spotify/"):
        page = client.get(url).text
        assert 'data-confirm="Unlink Spotify?' in page
        assert '<button type="submit" class="danger">Unlink Spotify</button>' in page
    page = client.get("/settings/").text
    assert 'class="danger">Delete my account and all my data' in page
    assert "js/confirm.js" in page
