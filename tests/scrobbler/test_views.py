from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries, DjangoCaptureOnCommitCallbacks, Settings

from ops.models import JobRun
from scrobbler.models import Play, User
from tests.conftest import PASSWORD
from tests.factories import ArtistFactory, PlayFactory, TrackFactory

pytestmark = pytest.mark.django_db


def test_anonymous_home_invites_to_sign_in(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert reverse("login") in response.text
    assert reverse("signup") in response.text


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


def test_recent_plays_lists_only_my_plays_without_n_plus_one(
    client: Client, alice: User, bob: User, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    for n in range(15):
        PlayFactory.create(
            user=alice,
            track=TrackFactory.create(
                name=f"Mine {n}", artists=[ArtistFactory.create(), ArtistFactory.create()]
            ),
        )
    PlayFactory.create(user=bob, track=TrackFactory.create(name="Not mine"))
    PlayFactory.create(
        user=alice, track=TrackFactory.create(name="Skipped one"), skipped=True, counted=False
    )
    client.force_login(alice)
    with django_assert_max_num_queries(6):
        response = client.get(reverse("recent"))
    assert "Mine 14" in response.text
    assert "Skipped one" in response.text
    assert "Not mine" not in response.text
    assert len(re.findall(r"<tr class=", response.text)) == 16
    assert response.text.count(">skipped</span>") == 1


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


def test_healthz_is_ok(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_readyz_reports_every_part(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["failing"] == []
    assert set(body["parts"]) == {"database", "channel_layer", "broker"}


@pytest.mark.parametrize("url", ["/system/"])
def test_system_page_is_for_staff_only(client: Client, alice: User, url: str) -> None:
    assert client.get(url).status_code == 302  # anonymous: to the admin sign-in
    client.force_login(alice)
    assert client.get(url).status_code == 302
    assert client.post(reverse("worker-check")).status_code == 302
    assert not JobRun.objects.exists()


def test_worker_check_from_the_system_page(
    client: Client, staff: User, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("worker-check"))
    assert response.status_code == 302
    job = JobRun.objects.get()
    assert job.status == JobRun.Status.SUCCEEDED
    assert "pid" in job.details
    page = client.get("/system/", headers={"HX-Request": "true"})
    assert page.text.lstrip().startswith('<div id="job-runs"')
    assert f"#{job.pk}" in page.text


def test_demo_user_command_creates_demo_once() -> None:
    from django.core.management import call_command

    call_command("demo_user")
    call_command("demo_user")
    demo = User.objects.get(username="demo")
    assert demo.check_password("demo")
    assert not demo.is_staff
    assert Play.objects.count() == 0


def test_demo_user_command_is_refused_outside_demo_mode(settings: Settings) -> None:
    from django.core.management import CommandError, call_command

    settings.DEMO_MODE = False
    with pytest.raises(CommandError, match="demo mode"):
        call_command("demo_user")
    assert not User.objects.filter(username="demo").exists()


def test_home_tells_me_when_spotify_needs_relinking(client: Client, alice: User) -> None:
    from scrobbler.models import SpotifyAccount
    from tests.scrobbler.spotify_helpers import linked_account

    client.force_login(alice)
    assert "Spotify is not linked yet" in client.get("/").text
    account = linked_account(alice)
    assert "notice" not in client.get("/").text
    SpotifyAccount.objects.filter(pk=account.pk).update(status=SpotifyAccount.Status.NEEDS_RELINK)
    assert "Link Spotify again" in client.get("/").text


def test_home_warns_before_spotify_permission_ends(client: Client, alice: User) -> None:
    import datetime as dt

    from django.utils import timezone

    from tests.scrobbler.spotify_helpers import linked_account

    linked_account(alice, consented_at=timezone.now() - dt.timedelta(days=175))
    client.force_login(alice)
    assert "permission ends on" in client.get("/").text
