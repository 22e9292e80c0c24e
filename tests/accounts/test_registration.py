"""Who may sign up: REGISTRATION=open|invite|closed, and invites that make exactly one account."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from functools import partial
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries, Settings

from accounts import registration
from scrobbler.models import Invite, User
from tests.concurrency import at_once
from tests.conftest import PASSWORD
from tests.processes import manage
from tests.test_startup import GOOD_KEY, assert_one_line_error, clean_env

SIGNUP = "/accounts/signup/"


def signup_data(username: str = "carol", **extra: str) -> dict[str, str]:
    return {
        "username": username,
        "email": f"{username}@example.org",
        "password1": PASSWORD,
        "password2": PASSWORD,
        **extra,
    }


@pytest.fixture
def invite_mode(settings: Settings) -> None:
    settings.REGISTRATION = "invite"


@pytest.fixture
def closed_mode(settings: Settings) -> None:
    settings.REGISTRATION = "closed"


# --- open --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_open_sign_up_needs_no_invite(client: Client, settings: Settings) -> None:
    settings.REGISTRATION = "open"
    page = client.get(SIGNUP)
    assert page.status_code == 200
    assert 'name="invite"' not in page.text
    response = client.post(SIGNUP, signup_data())
    assert response.status_code == 302
    assert User.objects.filter(username="carol").exists()


@pytest.mark.django_db
def test_open_registration_links_to_sign_up(client: Client, settings: Settings) -> None:
    settings.REGISTRATION = "open"
    assert client.get("/").text.count(f'href="{SIGNUP}"') == 2  # header and welcome


# --- invite ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("invite_mode")
def test_invite_link_prefills_the_code(client: Client) -> None:
    new = registration.invite_create(created_by=None)
    page = client.get(new.signup_path)
    assert page.status_code == 200
    assert re.search(rf'name="invite" value="{re.escape(new.code)}"', page.text)


@pytest.mark.django_db
@pytest.mark.usefixtures("invite_mode")
def test_invite_parameter_is_escaped(client: Client) -> None:
    page = client.get(SIGNUP, {"invite": '"><script>alert(1)</script>'})
    assert "<script>alert(1)" not in page.text


@pytest.mark.django_db
@pytest.mark.usefixtures("invite_mode")
def test_invite_signs_up_once_and_records_who_used_it(client: Client, staff: User) -> None:
    new = registration.invite_create(created_by=staff, note="for carol")
    response = client.post(SIGNUP, signup_data(invite=new.code))
    assert response.status_code == 302
    carol = User.objects.get(username="carol")
    assert client.session["_auth_user_id"] == str(carol.pk)  # signed in
    invite = Invite.objects.get()
    assert invite.used_by == carol
    assert invite.used_at is not None
    assert invite.created_by == staff
    assert invite.status_at(timezone.now()) == Invite.Status.USED


@pytest.mark.django_db
@pytest.mark.usefixtures("invite_mode")
def test_second_use_of_an_invite_is_refused(client: Client) -> None:
    new = registration.invite_create(created_by=None)
    assert client.post(SIGNUP, signup_data("carol", invite=new.code)).status_code == 302
    other = Client()
    response = other.post(SIGNUP, signup_data("dave", invite=new.code))
    assert response.status_code == 200
    assert registration.INVITE_USED in response.text
    assert not User.objects.filter(username="dave").exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("invite_mode")
def test_expired_invite_is_refused(client: Client) -> None:
    new = registration.invite_create(created_by=None)
    Invite.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.post(SIGNUP, signup_data(invite=new.code))
    assert response.status_code == 200
    assert registration.INVITE_EXPIRED in response.text
    assert not User.objects.filter(username="carol").exists()
    assert Invite.objects.get().used_at is None


@pytest.mark.django_db
@pytest.mark.usefixtures("invite_mode")
def test_wrong_invite_code_is_refused_and_nothing_is_stored(client: Client) -> None:
    new = registration.invite_create(created_by=None)
    wrong = new.code[:-1] + ("x" if new.code[-1] != "x" else "y")
    response = client.post(SIGNUP, signup_data(invite=wrong))
    assert response.status_code == 200
    assert registration.INVITE_UNKNOWN in response.text
    assert not User.objects.exists()
    assert Invite.objects.get().used_at is None


@pytest.mark.django_db
@pytest.mark.usefixtures("invite_mode")
def test_missing_invite_code_is_a_form_error(client: Client) -> None:
    response = client.post(SIGNUP, signup_data())
    assert response.status_code == 200
    assert "This field is required" in response.text
    assert not User.objects.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("invite_mode")
def test_invite_spent_after_the_form_check_still_makes_no_account(
    client: Client, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The form's check is advisory: the redemption in the account's transaction decides."""
    new = registration.invite_create(created_by=None)
    registration.invite_redeem(code=new.code, user=alice)
    # As if the form checked just before another sign-up spent the invite.
    monkeypatch.setattr(registration, "invite_refusal", lambda **kwargs: None)
    response = client.post(SIGNUP, signup_data(invite=new.code))
    assert response.status_code == 200
    assert 'class="errorlist' in response.text
    assert not User.objects.filter(username="carol").exists()
    assert Invite.objects.get().used_by == alice


@pytest.mark.django_db
def test_invite_code_is_stored_only_as_its_sha256() -> None:
    new = registration.invite_create(created_by=None, note="for carol")
    row = Invite.objects.values().get()
    assert row["code_hash"] == hashlib.sha256(new.code.encode()).hexdigest()
    assert all(new.code not in str(value) for value in row.values())
    assert len(new.code) >= 32


@pytest.mark.django_db
def test_invite_codes_are_unique_and_last_fourteen_days_by_default() -> None:
    first = registration.invite_create(created_by=None)
    second = registration.invite_create(created_by=None)
    assert first.code != second.code
    lifetime = first.invite.expires_at - timezone.now()
    assert timedelta(days=13, hours=23) < lifetime <= timedelta(days=14)


@pytest.mark.django_db
@pytest.mark.parametrize("days", [0, -1, registration.INVITE_MAX_DAYS + 1])
def test_invite_lifetime_out_of_range_is_refused(days: int) -> None:
    with pytest.raises(ValueError, match="days"):
        registration.invite_create(created_by=None, days=days)
    assert not Invite.objects.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("invite_mode")
def test_second_redemption_loses_and_its_account_is_undone() -> None:
    new = registration.invite_create(created_by=None)
    registration.account_signup(username="carol", email="", password=PASSWORD, invite_code=new.code)
    with pytest.raises(registration.InviteRefused, match="already been used"):
        registration.account_signup(
            username="dave", email="", password=PASSWORD, invite_code=new.code
        )
    assert list(User.objects.values_list("username", flat=True)) == ["carol"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("invite_mode")
def test_concurrent_sign_ups_with_one_invite_make_one_account() -> None:
    new = registration.invite_create(created_by=None)
    names = ("carol", "dave")
    results = at_once(
        *[
            partial(
                registration.account_signup,
                username=name,
                email="",
                password=PASSWORD,
                invite_code=new.code,
            )
            for name in names
        ]
    )
    for result in results:
        assert not isinstance(result, Exception) or isinstance(result, registration.InviteRefused)
    outcomes = {
        name: "refused" if isinstance(result, registration.InviteRefused) else "created"
        for name, result in zip(names, results, strict=True)
    }
    assert sorted(outcomes.values()) == ["created", "refused"]
    winner = next(name for name, outcome in outcomes.items() if outcome == "created")
    assert list(User.objects.values_list("username", flat=True)) == [winner]
    assert Invite.objects.get().used_by == User.objects.get(username=winner)


@pytest.mark.django_db
@pytest.mark.usefixtures("invite_mode")
def test_invite_only_still_links_to_sign_up(client: Client) -> None:
    assert f'href="{SIGNUP}"' in client.get("/").text


# --- closed ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("closed_mode")
def test_closed_sign_up_page_explains_and_has_no_form(client: Client) -> None:
    page = client.get(SIGNUP)
    assert page.status_code == 200
    assert "Registration is closed" in page.text
    assert 'name="password1"' not in page.text


@pytest.mark.django_db
@pytest.mark.usefixtures("closed_mode")
def test_closed_registration_refuses_posts_and_creates_nobody(client: Client) -> None:
    new = registration.invite_create(created_by=None)
    response = client.post(SIGNUP, signup_data(invite=new.code))
    assert response.status_code == 403
    assert not User.objects.exists()
    assert Invite.objects.get().used_at is None


@pytest.mark.django_db
@pytest.mark.usefixtures("closed_mode")
def test_closed_registration_hides_sign_up_links(client: Client) -> None:
    for url in ("/", reverse("login")):
        page = client.get(url)
        assert SIGNUP not in page.text
        assert "Sign up" not in page.text
        assert reverse("login") in page.text


@pytest.mark.django_db
@pytest.mark.usefixtures("closed_mode")
def test_closed_registration_is_enforced_by_the_service_too() -> None:
    with pytest.raises(registration.RegistrationClosed):
        registration.account_signup(username="carol", email="", password=PASSWORD)
    assert not User.objects.exists()


# --- start-up ----------------------------------------------------------------------------------


def test_unknown_registration_mode_stops_start_up_with_one_line(tmp_path: Path) -> None:
    env = clean_env(tmp_path, SECRET_KEY=GOOD_KEY, REGISTRATION="invite-only")
    line = assert_one_line_error(manage("check", env=env), "REGISTRATION")
    assert "invite-only" in line
    assert "open, invite or closed" in line


def test_known_registration_mode_starts(tmp_path: Path) -> None:
    env = clean_env(tmp_path, SECRET_KEY=GOOD_KEY, REGISTRATION="invite")
    result = manage("check", env=env)
    assert result.returncode == 0, result.stderr


# --- admin -------------------------------------------------------------------------------------


@pytest.fixture
def invite_admin(staff: User) -> User:
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_invite", "view_invite", "change_invite"])
    )
    return staff


@pytest.mark.django_db
@pytest.mark.usefixtures("invite_mode")
def test_admin_add_shows_a_working_code_and_link_once(client: Client, invite_admin: User) -> None:
    client.force_login(invite_admin)
    response = client.post(
        reverse("admin:scrobbler_invite_add"),
        {"note": "for carol", "days": "7", "_save": "Save"},
        follow=True,
    )
    assert response.status_code == 200
    match = re.search(r"<code>([\w-]+)</code>", response.text)
    assert match is not None, response.text
    code = match.group(1)
    assert f"http://testserver{SIGNUP}?invite={code}" in response.text
    invite = Invite.objects.get()
    assert invite.created_by == invite_admin
    assert invite.note == "for carol"
    assert timedelta(days=6) < invite.expires_at - timezone.now() <= timedelta(days=7)
    assert code not in client.get(reverse("admin:scrobbler_invite_changelist")).text
    assert code not in client.get(reverse("admin:scrobbler_invite_change", args=[invite.pk])).text

    visitor = Client()
    assert visitor.post(SIGNUP, signup_data(invite=code)).status_code == 302
    assert Invite.objects.get().used_by == User.objects.get(username="carol")


@pytest.mark.django_db
def test_admin_lists_invites_by_status_without_n_plus_one(
    client: Client,
    invite_admin: User,
    alice: User,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    for n in range(5):
        registration.invite_create(created_by=invite_admin, note=f"unused {n}")
    used = registration.invite_create(created_by=invite_admin, note="used one")
    registration.invite_redeem(code=used.code, user=alice)
    registration.invite_create(created_by=invite_admin, note="expired one")
    Invite.objects.filter(note="expired one").update(expires_at=timezone.now())
    client.force_login(invite_admin)
    url = reverse("admin:scrobbler_invite_changelist")
    with django_assert_max_num_queries(10):
        page = client.get(url)
    assert page.text.count(">Unused<") >= 5
    assert "used one" in page.text
    assert "expired one" in page.text
    used_only = client.get(url, {"status": "used"}).text
    assert "used one" in used_only
    assert "unused 0" not in used_only
    expired_only = client.get(url, {"status": "expired"}).text
    assert "expired one" in expired_only
    assert "unused 0" not in expired_only


@pytest.mark.django_db
@pytest.mark.usefixtures("invite_mode")
def test_admin_revoke_expires_unused_invites(client: Client, invite_admin: User) -> None:
    new = registration.invite_create(created_by=invite_admin)
    client.force_login(invite_admin)
    client.post(
        reverse("admin:scrobbler_invite_changelist"),
        {"action": "revoke", "_selected_action": [new.invite.pk]},
    )
    assert registration.invite_refusal(code=new.code) == registration.INVITE_EXPIRED


@pytest.mark.django_db
def test_staff_without_invite_permission_cannot_add_invites(client: Client, staff: User) -> None:
    client.force_login(staff)
    response = client.post(reverse("admin:scrobbler_invite_add"), {"note": "x", "days": "7"})
    assert response.status_code == 403
    assert not Invite.objects.exists()


# --- command -----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("invite_mode")
def test_create_invite_command_prints_a_working_code(client: Client) -> None:
    out, err = StringIO(), StringIO()
    call_command("create_invite", "--days", "3", "--note", "for carol", stdout=out, stderr=err)
    code = re.search(r"^code: (\S+)$", out.getvalue(), re.M)
    assert code is not None, out.getvalue()
    assert f"link: {SIGNUP}?invite={code.group(1)}" in out.getvalue()
    assert err.getvalue() == ""
    invite = Invite.objects.get()
    assert invite.note == "for carol"
    assert invite.created_by is None
    assert timedelta(days=2) < invite.expires_at - timezone.now() <= timedelta(days=3)
    assert client.post(SIGNUP, signup_data(invite=code.group(1))).status_code == 302


@pytest.mark.django_db
def test_create_invite_command_warns_when_invites_are_not_asked_for(settings: Settings) -> None:
    settings.REGISTRATION = "open"
    err = StringIO()
    call_command("create_invite", stdout=StringIO(), stderr=err)
    assert "REGISTRATION=open" in err.getvalue()


@pytest.mark.django_db
def test_create_invite_command_refuses_a_bad_lifetime() -> None:
    with pytest.raises(CommandError, match="days"):
        call_command("create_invite", "--days", "0", stdout=StringIO())
    assert not Invite.objects.exists()
