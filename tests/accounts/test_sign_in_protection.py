"""Sign-in from the attacker's side: rate limits per address and per username, and the lockout
after failed attempts (the site's sign-in and the admin's)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.test import Client, RequestFactory
from django.urls import reverse
from pytest_django import Settings

from ops.http import client_ip
from scrobbler.models import User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

WRONG = "not the password"


def sign_in(username: str, password: str, *, ip: str = "198.51.100.7", url: str = "") -> Any:
    """One sign-in attempt from a fresh browser at `ip`."""
    client = Client(REMOTE_ADDR=ip)
    return client.post(url or reverse("login"), {"username": username, "password": password})


def test_sign_in_attempts_from_one_address_are_rate_limited_across_usernames(
    settings: Settings, alice: User
) -> None:
    settings.SIGN_IN_RATE_PER_IP = "3/m"
    for name in ("ann", "ben", "cat"):
        assert sign_in(name, WRONG).status_code == 200  # the form again, with its error
    refused = sign_in("alice", PASSWORD)
    assert refused.status_code == 429
    assert "Too many sign-in attempts" in refused.content.decode()
    assert 0 < int(refused["Retry-After"]) <= 60
    assert "_auth_user_id" not in refused.client.session
    # Another address is not affected.
    assert sign_in("alice", PASSWORD, ip="198.51.100.8").status_code == 302


def test_sign_in_attempts_for_one_username_are_rate_limited_across_addresses(
    settings: Settings, alice: User
) -> None:
    settings.SIGN_IN_RATE_PER_USERNAME = "2/m"
    assert sign_in("alice", WRONG, ip="203.0.113.1").status_code == 200
    assert sign_in("Alice", WRONG, ip="203.0.113.2").status_code == 200  # case is one person
    assert sign_in("alice", PASSWORD, ip="203.0.113.3").status_code == 429
    assert sign_in("bob", WRONG, ip="203.0.113.3").status_code == 200


def test_viewing_the_sign_in_page_is_not_counted(settings: Settings) -> None:
    settings.SIGN_IN_RATE_PER_IP = "1/m"
    client = Client(REMOTE_ADDR="198.51.100.7")
    for _ in range(3):
        assert client.get(reverse("login")).status_code == 200


def test_behind_a_proxy_the_limit_is_per_client_not_per_proxy(
    settings: Settings, alice: User
) -> None:
    settings.SIGN_IN_RATE_PER_IP = "2/m"
    settings.TRUSTED_PROXY_COUNT = 1

    def via_proxy(forwarded_for: str) -> Any:
        client = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=forwarded_for)
        return client.post(reverse("login"), {"username": "alice", "password": WRONG})

    # The client can write whatever it likes on the left; the proxy appends what it saw.
    assert via_proxy("10.0.0.1, 203.0.113.50").status_code == 200
    assert via_proxy("10.0.0.2, 203.0.113.50").status_code == 200
    assert via_proxy("10.0.0.3, 203.0.113.50").status_code == 429
    assert via_proxy("203.0.113.51").status_code == 200


def test_without_a_trusted_proxy_forwarded_for_is_ignored(settings: Settings) -> None:
    settings.SIGN_IN_RATE_PER_IP = "1/m"
    first = Client(REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.1")
    second = Client(REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.2")
    assert first.post(reverse("login"), {"username": "x", "password": WRONG}).status_code == 200
    assert second.post(reverse("login"), {"username": "y", "password": WRONG}).status_code == 429


def test_the_admin_sign_in_is_rate_limited_too(settings: Settings, staff: User) -> None:
    settings.SIGN_IN_RATE_PER_IP = "1/m"
    url = reverse("admin:login")
    assert sign_in("operator", WRONG, url=url).status_code == 200
    assert sign_in("operator", PASSWORD, url=url).status_code == 429


def test_failed_sign_ins_lock_that_username_out_from_that_address(
    settings: Settings, alice: User
) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        assert sign_in("alice", WRONG).status_code == 200
    locked = sign_in("alice", WRONG)
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Sign-in locked" in page
    assert "alice" in page
    assert "15 minutes" in page
    # Now even the right password is refused from that address...
    assert sign_in("alice", PASSWORD).status_code == 429
    # ...while alice elsewhere, and other users here, are not affected.
    assert sign_in("alice", PASSWORD, ip="198.51.100.99").status_code == 302
    assert User.objects.create_user("bob", password=PASSWORD)
    assert sign_in("bob", PASSWORD).status_code == 302


def test_the_lockout_ends_after_the_cool_off(settings: Settings, alice: User) -> None:
    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        sign_in("alice", WRONG)
    assert sign_in("alice", PASSWORD).status_code == 429
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )
    assert sign_in("alice", PASSWORD).status_code == 302
    assert not AccessAttempt.objects.exists()  # a success starts the count again


def test_the_admin_sign_in_locks_out_too(settings: Settings, staff: User) -> None:
    settings.AXES_FAILURE_LIMIT = 2
    url = reverse("admin:login")
    assert sign_in("operator", WRONG, url=url).status_code == 200
    assert sign_in("operator", WRONG, url=url).status_code == 429
    refused = sign_in("operator", PASSWORD, url=url)
    assert refused.status_code == 429
    assert "Sign-in locked" in refused.content.decode()


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "expected"),
    [
        (0, "203.0.113.1", "127.0.0.1"),  # no proxy: the header is the client's own words
        (1, "10.9.9.9, 203.0.113.1", "203.0.113.1"),  # what nginx appended
        (2, "10.9.9.9, 203.0.113.1, 10.0.0.2", "203.0.113.1"),  # a balancer, then nginx
        (2, "203.0.113.1", "127.0.0.1"),  # did not come through both: its own address
    ],
)
def test_the_client_address_is_the_one_the_outermost_trusted_proxy_saw(
    settings: Settings, proxies: int, forwarded_for: str, expected: str
) -> None:
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=forwarded_for)
    assert client_ip(request) == expected
