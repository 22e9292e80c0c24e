"""The accounts service over HTTP: authorization code with PKCE, refresh, expiry, revocation."""

from __future__ import annotations

import pytest

from tests.spotify_sim.conftest import REDIRECT_URI, Sim, pkce_pair, redirect_params

CLIENT = "encore-test"
SCOPE = "user-read-email user-read-private user-read-currently-playing user-read-recently-played"


def authorize(sim: Sim, challenge: str, *, account: str = "alice", **extra: str) -> dict[str, str]:
    params = {
        "client_id": CLIENT,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "state": "xyz",
        "scope": SCOPE,
        "code_challenge_method": "S256",
        "code_challenge": challenge,
        "sim_account": account,
        **extra,
    }
    return redirect_params(sim.authorize(**params))


def exchange(sim: Sim, code: str, verifier: str, **extra: str):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": CLIENT,
        "code_verifier": verifier,
        **extra,
    }
    return sim.token_request(data)


def linked(sim: Sim, account: str = "alice") -> dict:
    verifier, challenge = pkce_pair()
    response = exchange(sim, authorize(sim, challenge, account=account)["code"], verifier)
    assert response.status_code == 200, response.text
    return response.json()


def refresh(sim: Sim, refresh_token: str, client_id: str = CLIENT):
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    return sim.token_request(data)


def test_pkce_flow_gives_tokens_for_the_account_named_in_the_request(sim: Sim) -> None:
    verifier, challenge = pkce_pair()
    params = authorize(sim, challenge, account="alice")
    assert params["state"] == "xyz"
    response = exchange(sim, params["code"], verifier)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert set(body["scope"].split()) == set(SCOPE.split())
    assert body["refresh_token"]
    me = sim.get("me", body["access_token"]).json()
    assert me["id"] == "alice"
    assert me["email"] == "alice@example.com"


def test_authorize_defaults_to_the_demo_account(sim: Sim) -> None:
    verifier, challenge = pkce_pair()
    params = redirect_params(
        sim.authorize(
            client_id=CLIENT,
            response_type="code",
            redirect_uri=REDIRECT_URI,
            code_challenge_method="S256",
            code_challenge=challenge,
        )
    )
    assert "state" not in params
    token = exchange(sim, params["code"], verifier).json()["access_token"]
    assert sim.get("me", token).json()["id"] == "demo"


def test_wrong_code_verifier_is_rejected(sim: Sim) -> None:
    _, challenge = pkce_pair()
    other_verifier, _ = pkce_pair()
    response = exchange(sim, authorize(sim, challenge)["code"], other_verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_missing_code_verifier_is_rejected(sim: Sim) -> None:
    _, challenge = pkce_pair()
    code = authorize(sim, challenge)["code"]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    response = sim.token_request({**data, "client_id": CLIENT})
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def test_a_code_works_only_once(sim: Sim) -> None:
    verifier, challenge = pkce_pair()
    code = authorize(sim, challenge)["code"]
    assert exchange(sim, code, verifier).status_code == 200
    again = exchange(sim, code, verifier)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


def test_redirect_uri_must_equal_the_authorize_one(sim: Sim) -> None:
    verifier, challenge = pkce_pair()
    code = authorize(sim, challenge)["code"]
    response = exchange(sim, code, verifier, redirect_uri="http://127.0.0.1:9/elsewhere")
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def test_code_is_bound_to_its_client(sim: Sim) -> None:
    verifier, challenge = pkce_pair()
    code = authorize(sim, challenge)["code"]
    response = exchange(sim, code, verifier, client_id="someone-else")
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def test_code_expires_after_ten_minutes(sim: Sim) -> None:
    verifier, challenge = pkce_pair()
    code = authorize(sim, challenge)["code"]
    sim.advance(601)
    response = exchange(sim, code, verifier)
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "Authorization code expired",
    }


@pytest.mark.parametrize(
    "params",
    [
        {"response_type": "code", "redirect_uri": REDIRECT_URI},  # no client_id
        {"client_id": CLIENT, "response_type": "code"},  # no redirect_uri
        {"client_id": CLIENT, "response_type": "code", "redirect_uri": "/relative"},
        {"client_id": CLIENT, "redirect_uri": REDIRECT_URI},  # no response_type
        {
            "client_id": CLIENT,
            "response_type": "code",
            "redirect_uri": REDIRECT_URI,
            "code_challenge_method": "plain",
            "code_challenge": "x" * 43,
        },
        {
            "client_id": CLIENT,
            "response_type": "code",
            "redirect_uri": REDIRECT_URI,
            "code_challenge_method": "S256",
            "code_challenge": "too-short",
        },
        {
            "client_id": CLIENT,
            "response_type": "code",
            "redirect_uri": REDIRECT_URI,
            "sim_account": "no spaces",
        },
    ],
)
def test_bad_authorize_requests_get_a_400_page_and_no_redirect(sim: Sim, params: dict) -> None:
    response = sim.authorize(**params)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")


def test_other_response_types_redirect_with_unsupported_response_type(sim: Sim) -> None:
    response = sim.authorize(
        client_id=CLIENT, response_type="token", redirect_uri=REDIRECT_URI, state="s1"
    )
    assert redirect_params(response) == {"error": "unsupported_response_type", "state": "s1"}


def test_a_denied_consent_redirects_with_access_denied(sim: Sim) -> None:
    _, challenge = pkce_pair()
    assert authorize(sim, challenge, sim_deny="1") == {"error": "access_denied", "state": "xyz"}


def test_registered_clients_must_prove_their_secret(sim: Sim) -> None:
    sim.control(
        "POST",
        "clients",
        {"client_id": "confidential", "client_secret": "s3cret", "redirect_uris": [REDIRECT_URI]},
    )
    common = {"client_id": "confidential", "response_type": "code", "redirect_uri": REDIRECT_URI}
    assert sim.authorize(**{**common, "redirect_uri": "http://127.0.0.1:9/x"}).status_code == 400

    def code() -> str:
        return redirect_params(sim.authorize(**common))["code"]

    data = {"grant_type": "authorization_code", "redirect_uri": REDIRECT_URI}
    wrong = sim.token_request({**data, "code": code()}, auth=("confidential", "wrong"))
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_client")
    anonymous = sim.token_request({**data, "code": code(), "client_id": "confidential"})
    assert (anonymous.status_code, anonymous.json()["error"]) == (400, "invalid_client")
    right = sim.token_request({**data, "code": code()}, auth=("confidential", "s3cret"))
    assert right.status_code == 200
    again = sim.token_request(
        {"grant_type": "refresh_token", "refresh_token": right.json()["refresh_token"]},
        auth=("confidential", "s3cret"),
    )
    assert again.status_code == 200


def test_token_requests_without_client_grant_type_or_code_are_refused(sim: Sim) -> None:
    no_client = sim.token_request({"grant_type": "authorization_code", "code": "x"})
    assert (no_client.status_code, no_client.json()["error"]) == (400, "invalid_client")
    no_grant = sim.token_request({"client_id": CLIENT})
    assert (no_grant.status_code, no_grant.json()["error"]) == (400, "unsupported_grant_type")
    no_code = sim.token_request({"client_id": CLIENT, "grant_type": "authorization_code"})
    assert (no_code.status_code, no_code.json()["error"]) == (400, "invalid_request")
    unknown = sim.token_request(
        {"client_id": CLIENT, "grant_type": "refresh_token", "refresh_token": "nope"}
    )
    assert (unknown.status_code, unknown.json()["error"]) == (400, "invalid_grant")


def test_refresh_gives_a_new_access_token_and_is_counted(sim: Sim) -> None:
    tokens = linked(sim)
    response = refresh(sim, tokens["refresh_token"])
    assert response.status_code == 200
    body = response.json()
    assert body["access_token"] != tokens["access_token"]
    assert body["refresh_token"] == tokens["refresh_token"]
    assert sim.get("me", body["access_token"]).status_code == 200
    assert sim.get("me", tokens["access_token"]).status_code == 200  # the old one lives on
    assert sim.control("GET", "accounts/alice")["refresh_count"] == 1


def test_refresh_with_rotation_issues_a_new_refresh_token_and_kills_the_old(sim: Sim) -> None:
    sim.account("alice", options={"rotate_refresh_tokens": True})
    tokens = linked(sim)
    first = refresh(sim, tokens["refresh_token"]).json()
    assert first["refresh_token"] != tokens["refresh_token"]
    old = refresh(sim, tokens["refresh_token"])
    assert (old.status_code, old.json()["error"]) == (400, "invalid_grant")
    assert refresh(sim, first["refresh_token"]).status_code == 200
    account = sim.control("GET", "accounts/alice")
    assert (account["refresh_count"], account["refresh_failures"]) == (2, 1)


def test_refresh_can_omit_the_refresh_token(sim: Sim) -> None:
    sim.account("alice", options={"omit_refresh_token": True})
    tokens = linked(sim)
    body = refresh(sim, tokens["refresh_token"]).json()
    assert "refresh_token" not in body
    assert refresh(sim, tokens["refresh_token"]).status_code == 200  # the old one still works


def test_refresh_tokens_expire_six_months_after_consent_even_when_rotated(sim: Sim) -> None:
    sim.account("alice", options={"rotate_refresh_tokens": True})
    token = linked(sim)["refresh_token"]
    sim.advance(150 * 86_400)
    token = refresh(sim, token).json()["refresh_token"]
    sim.advance(33 * 86_400)
    response = refresh(sim, token)
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "Refresh token expired",
    }


def test_refresh_is_bound_to_its_client(sim: Sim) -> None:
    response = refresh(sim, linked(sim)["refresh_token"], client_id="another-app")
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def test_access_tokens_expire_after_the_account_ttl_on_the_simulated_clock(sim: Sim) -> None:
    sim.account("alice", options={"token_ttl_s": 60})
    tokens = linked(sim)
    assert tokens["expires_in"] == 60
    sim.advance(59)
    assert sim.get("me", tokens["access_token"]).status_code == 200
    sim.advance(1)
    response = sim.get("me", tokens["access_token"])
    assert response.status_code == 401
    assert response.json() == {"error": {"status": 401, "message": "The access token expired"}}
    assert "invalid_token" in response.headers["WWW-Authenticate"]


def test_missing_and_unknown_tokens_get_401(sim: Sim) -> None:
    missing = sim.get("me/player/currently-playing", None)
    assert missing.json() == {"error": {"status": 401, "message": "No token provided"}}
    unknown = sim.get("me/player/currently-playing", "BQ-not-a-token")
    assert unknown.json() == {"error": {"status": 401, "message": "Invalid access token"}}


def test_revoking_an_account_kills_its_access_and_refresh_tokens(sim: Sim) -> None:
    tokens = linked(sim)
    other = linked(sim, account="bob")
    sim.control("POST", "accounts/alice/revoke")
    assert sim.get("me", tokens["access_token"]).status_code == 401
    assert refresh(sim, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert sim.get("me", other["access_token"]).status_code == 200


def test_scopes_gate_endpoints_and_private_fields(sim: Sim) -> None:
    sim.account("alice")
    token = sim.token("alice", scope="user-read-recently-played")
    assert sim.get("me/player/recently-played", token).status_code == 200
    denied = sim.get("me/player/currently-playing", token)
    assert denied.json() == {"error": {"status": 403, "message": "Insufficient client scope"}}
    assert sim.get("me/playlists", token).status_code == 403
    me = sim.get("me", token).json()
    assert "email" not in me
    assert "product" not in me
