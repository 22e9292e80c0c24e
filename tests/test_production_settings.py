"""Production settings come from the environment: with HTTPS=true Django's deployment checks pass
and the server sends secure cookies, HSTS and the redirect; without it (the embedded default on
http://127.0.0.1:8000) signing in over plain HTTP still works. Both with DEBUG off."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.hashers import make_password

from scrobbler.models import User
from tests.conftest import PASSWORD
from tests.processes import manage, process_env, web_server
from tests.test_startup import clean_env

WRONG = "not the password"
PRODUCTION = {
    "HTTPS": "true",
    "TRUSTED_PROXY_COUNT": "1",
    "ALLOWED_HOSTS": "music.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://music.example.org",
    # A Spotify app of its own: not demo mode, so no simulator served (check --deploy warns).
    "SPOTIFY_CLIENT_ID": "0123456789abcdef0123456789abcdef",
    "SPOTIFY_CLIENT_SECRET": "fedcba9876543210fedcba9876543210",
    "SPOTIFY_REDIRECT_URI": "https://music.example.org/spotify/callback",
}


def production_env(tmp_path: Path, **values: str) -> dict[str, str]:
    keys = {"TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode()}
    values = {**PRODUCTION, **keys, **values}
    return clean_env(tmp_path, SECRET_KEY=secrets.token_urlsafe(50), **values)


def test_check_deploy_passes_in_production_mode(tmp_path: Path) -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_fails_without_https_and_names_what_is_missing(tmp_path: Path) -> None:
    env = clean_env(tmp_path, SECRET_KEY=secrets.token_urlsafe(50))
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    for check in ("W004", "W008", "W012", "W016"):  # HSTS, redirect, session and CSRF cookies
        assert f"security.{check}" in result.stderr


def test_turning_the_redirect_off_is_reported_by_check_deploy(tmp_path: Path) -> None:
    env = production_env(tmp_path, HTTPS_REDIRECT="false")
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    assert "security.W008" in result.stderr


def test_check_deploy_warns_when_the_simulator_is_served_over_https(tmp_path: Path) -> None:
    demo = {"SPOTIFY_CLIENT_ID": "", "SPOTIFY_CLIENT_SECRET": "", "SPOTIFY_REDIRECT_URI": ""}
    for env in (
        production_env(tmp_path, **demo),
        production_env(tmp_path, SPOTIFY_SIMULATOR="true"),
    ):
        result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
        assert result.returncode != 0
        assert "encore.W001" in result.stderr
        assert "encore.W002" not in result.stderr
    open_ = production_env(
        tmp_path, SPOTIFY_SIMULATOR="true", SPOTIFY_SIMULATOR_CONTROL_OPEN="true"
    )
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=open_)
    assert "encore.W002" in result.stderr
    # Served over plain HTTP (scripts/run's demo), the simulator is not a deployment problem.
    plain = clean_env(tmp_path, SECRET_KEY=secrets.token_urlsafe(50))
    assert "encore.W001" not in manage("check", "--deploy", env=plain).stderr


def csrf_from(page: httpx.Response) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def set_cookie(response: httpx.Response, name: str) -> str:
    found = [c for c in response.headers.get_list("set-cookie") if c.startswith(f"{name}=")]
    assert found, response.headers
    return found[0]


def alice_signs_up() -> None:
    """alice with PASSWORD, hashed with a hasher the web server's own settings accept (the
    tests' hasher is a faster one the server does not know)."""
    User.objects.create(username="alice", password=make_password(PASSWORD, hasher="pbkdf2_sha256"))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_plain_http_sign_in_works_with_debug_off_and_https_unset(
    tmp_path: Path, static_root: Path
) -> None:
    alice_signs_up()
    env = process_env(tmp_path, static_root, DEBUG="false")
    with web_server(env, tmp_path / "web.log") as base, httpx.Client(base_url=base) as client:
        page = client.get("/accounts/login/")
        assert page.status_code == 200
        assert "Secure" not in set_cookie(page, "csrftoken")
        assert "strict-transport-security" not in page.headers
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "same-origin"
        policy = page.headers["content-security-policy"]
        assert "default-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy

        signed_in = client.post(
            "/accounts/login/",
            data={
                "username": "alice",
                "password": PASSWORD,
                "csrfmiddlewaretoken": csrf_from(page),
            },
        )
        assert signed_in.status_code == 302
        session = set_cookie(signed_in, "sessionid")
        assert "Secure" not in session
        assert "HttpOnly" in session
        assert client.get("/").text.count('class="who">alice<') == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_production_behind_a_proxy_redirects_sends_hsts_and_secure_cookies(
    tmp_path: Path, static_root: Path
) -> None:
    alice_signs_up()
    env = process_env(
        tmp_path,
        static_root,
        DEBUG="false",
        HTTPS="true",
        TRUSTED_PROXY_COUNT="1",
        HSTS_SECONDS="600",
    )
    with web_server(env, tmp_path / "web.log") as base, httpx.Client(base_url=base) as client:
        host = base.removeprefix("http://")
        plain = client.get("/accounts/login/")
        assert plain.status_code == 301
        assert plain.headers["location"] == f"https://{host}/accounts/login/"
        # Probes reach the process directly, over plain HTTP.
        assert client.get("/healthz").status_code == 200

        # What nginx passes on for an HTTPS request.
        proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
        page = client.get("/accounts/login/", headers=proxied)
        assert page.status_code == 200
        assert page.headers["strict-transport-security"] == "max-age=600; includeSubDomains"
        assert "Secure" in set_cookie(page, "csrftoken")

        # The client speaks plain HTTP to the process, so it keeps the secure cookie to itself:
        # send it as the browser would over HTTPS.
        cookie = set_cookie(page, "csrftoken").split(";")[0]
        client.cookies.clear()
        signed_in = client.post(
            "/accounts/login/",
            data={
                "username": "alice",
                "password": PASSWORD,
                "csrfmiddlewaretoken": csrf_from(page),
            },
            headers={**proxied, "Referer": f"https://{host}/accounts/login/", "Cookie": cookie},
        )
        assert signed_in.status_code == 302, signed_in.text
        session = set_cookie(signed_in, "sessionid")
        assert "Secure" in session
        assert "HttpOnly" in session


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_without_a_trusted_proxy_a_client_cannot_pose_as_one(
    tmp_path: Path, static_root: Path
) -> None:
    """The web server as the Procfile runs it, TRUSTED_PROXY_COUNT unset: X-Forwarded-For and
    -Proto written by the client itself change neither its address (its sign-in lockout holds)
    nor its scheme."""
    alice_signs_up()
    env = process_env(tmp_path, static_root, DEBUG="false", SIGN_IN_FAILURE_LIMIT="3")
    with web_server(env, tmp_path / "web.log") as base, httpx.Client(base_url=base) as client:

        def sign_in_as(password: str, *, address: str) -> httpx.Response:
            page = client.get("/accounts/login/")
            return client.post(
                "/accounts/login/",
                data={
                    "username": "alice",
                    "password": password,
                    "csrfmiddlewaretoken": csrf_from(page),
                },
                headers={"X-Forwarded-For": address, "X-Forwarded-Proto": "https"},
            )

        # The form twice (taken for HTTPS, CSRF's Referer check would have refused it: 403),
        # then the lockout: all three came from one address, whatever the header said.
        attempts = [sign_in_as(WRONG, address=f"203.0.113.{n}") for n in range(3)]
        assert [response.status_code for response in attempts] == [200, 200, 429]
        assert sign_in_as(PASSWORD, address="203.0.113.99").status_code == 429
