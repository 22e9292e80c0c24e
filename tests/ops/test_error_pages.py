"""Branded error pages: Encore's look and its menu on 404 and 403 (the signed-in user's menu),
and on 400 and 500, which Django renders without a request context and which must not touch
the database (a 500 may come from a database that is down)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory
from django.views import defaults
from django.views.csrf import csrf_failure
from pytest_django import DjangoAssertNumQueries

from scrobbler.models import User

pytestmark = pytest.mark.django_db

MENU = 'aria-label="Main"'
STYLES = "/static/css/encore.css"


@pytest.fixture(autouse=True)
def production(settings: object) -> None:
    settings.DEBUG = False  # type: ignore[attr-defined]


def test_an_unknown_address_gets_the_404_page_with_the_users_menu(
    client: Client, alice: User
) -> None:
    client.force_login(alice)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert MENU in response.text
    assert STYLES in response.text
    assert 'href="/recent/"' in response.text  # the signed-in menu
    assert "alice" in response.text


def test_an_anonymous_404_has_the_public_menu(client: Client) -> None:
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert MENU in response.text
    assert "Sign in" in response.text


def test_permission_denied_gets_the_403_page(rf: RequestFactory, alice: User) -> None:
    request = rf.get("/somewhere/")
    request.user = alice
    response = defaults.permission_denied(request, PermissionDenied())
    assert response.status_code == 403
    text = response.content.decode()
    assert "Not allowed" in text
    assert MENU in text


@pytest.mark.parametrize(
    ("view", "status", "words"),
    [
        (defaults.server_error, 500, "Something went wrong"),
        (defaults.bad_request, 400, "could not be understood"),
    ],
)
def test_400_and_500_pages_are_styled_with_the_menu_and_need_no_database(
    rf: RequestFactory,
    django_assert_num_queries: DjangoAssertNumQueries,
    view: object,
    status: int,
    words: str,
) -> None:
    request = rf.get("/broken/")
    with django_assert_num_queries(0):
        response = view(request) if status == 500 else view(request, Exception())  # type: ignore[operator]
    assert response.status_code == status
    text = response.content.decode()
    assert words in text
    assert MENU in text
    assert STYLES in text
    assert 'href="/recent/"' in text
    assert 'href="/settings/"' in text


def test_a_csrf_failure_gets_the_branded_page(rf: RequestFactory) -> None:
    response = csrf_failure(rf.post("/settings/"), reason="CSRF token missing.")
    assert response.status_code == 403
    text = response.content.decode()
    assert "This form has expired" in text
    assert MENU in text
