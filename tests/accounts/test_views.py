"""Signing up, signing in and out, and the theme a visitor picks."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from scrobbler.models import User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_sign_up_creates_the_account_and_signs_in(client: Client) -> None:
    response = client.post(
        reverse("signup"),
        {
            "username": "carol",
            "email": "carol@example.org",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302
    carol = User.objects.get(username="carol")
    assert client.get("/").context["user"] == carol


def test_sign_up_rejects_a_weak_password_and_stores_nothing(client: Client) -> None:
    response = client.post(
        reverse("signup"), {"username": "dave", "password1": "123", "password2": "123"}
    )
    assert response.status_code == 200
    assert "too short" in response.text
    assert not User.objects.filter(username="dave").exists()


def test_sign_in_and_sign_out(client: Client, alice: User) -> None:
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert "alice" in client.get("/").text
    client.post(reverse("logout"))
    assert client.get("/").context["user"].is_anonymous


def test_wrong_password_is_refused(client: Client, alice: User) -> None:
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert client.get("/").context["user"].is_anonymous


def test_theme_choice_is_remembered_and_rendered(client: Client) -> None:
    response = client.post(reverse("theme-set"), {"theme": "dark", "next": "/accounts/login/"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert response.cookies["theme"].value == "dark"
    assert '<html lang="en" data-theme="dark">' in client.get("/").text


def test_unknown_theme_cookie_falls_back_to_auto(client: Client) -> None:
    client.cookies["theme"] = '"><script>'
    assert '<html lang="en" data-theme="auto">' in client.get("/").text


def test_theme_refuses_unknown_values_and_foreign_redirects(client: Client) -> None:
    assert client.post(reverse("theme-set"), {"theme": "neon"}).status_code == 400
    response = client.post(
        reverse("theme-set"), {"theme": "light", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("home")


def test_htmx_is_served_from_our_static_files(client: Client) -> None:
    page = client.get("/").text
    assert "/static/vendor/htmx/htmx.min.js" in page
    assert "unpkg" not in page
    assert "cdn" not in page.lower()
