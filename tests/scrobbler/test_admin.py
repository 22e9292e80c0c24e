from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from scrobbler.models import SpotifyAccount, SpotifyWaitlistEntry, User
from tests.factories import UserFactory
from tests.scrobbler.spotify_helpers import linked_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(client: Client) -> Client:
    client.force_login(UserFactory.create(username="root", is_staff=True, is_superuser=True))
    return client


def test_spotify_account_page_never_shows_tokens(admin_client_: Client, alice: User) -> None:
    account = linked_account(alice)
    page = admin_client_.get(reverse("admin:scrobbler_spotifyaccount_change", args=[account.pk]))
    assert page.status_code == 200
    assert "access-alice" not in page.text
    assert "refresh-alice" not in page.text
    assert account.access_token_encrypted not in page.text


def test_pause_resume_and_poll_now_actions(admin_client_: Client, alice: User) -> None:
    account = linked_account(alice)
    url = reverse("admin:scrobbler_spotifyaccount_changelist")
    admin_client_.post(url, {"action": "pause_polling", "_selected_action": [account.pk]})
    account.refresh_from_db()
    assert account.polling_paused
    admin_client_.post(url, {"action": "resume_polling", "_selected_action": [account.pk]})
    SpotifyAccount.objects.filter(pk=account.pk).update(next_poll_at="2999-01-01T00:00:00Z")
    admin_client_.post(url, {"action": "poll_now", "_selected_action": [account.pk]})
    account.refresh_from_db()
    assert not account.polling_paused
    assert account.next_poll_at.year < 2999


def test_admitting_from_the_waitlist(admin_client_: Client, alice: User) -> None:
    entry = SpotifyWaitlistEntry.objects.create(user=alice)
    admin_client_.post(
        reverse("admin:scrobbler_spotifywaitlistentry_changelist"),
        {"action": "admit", "_selected_action": [entry.pk]},
    )
    entry.refresh_from_db()
    assert entry.admitted_at is not None


def test_admin_is_refused_to_non_staff(client: Client, alice: User) -> None:
    client.force_login(alice)
    response = client.get(reverse("admin:scrobbler_spotifyaccount_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
