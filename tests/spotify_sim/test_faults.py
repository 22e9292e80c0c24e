"""Fault injection: 429 with Retry-After variants, 5xx, slow answers, revoked grants, 204s."""

from __future__ import annotations

import http.client
import time
from urllib.parse import urlsplit

import pytest

from tests.spotify_sim.conftest import Sim

CP = "v1/me/player/currently-playing"


@pytest.fixture
def token(sim: Sim) -> str:
    sim.account("alice", profile="steady")
    return sim.token("alice")


def raw_headers(sim: Sim, path: str, token: str) -> tuple[int, list[tuple[str, str]]]:
    """Status and header names exactly as sent (httpx would normalise their case)."""
    parts = urlsplit(sim.api)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request(
            "GET", f"{parts.path}/{path}", headers={"Authorization": f"Bearer {token}"}
        )
        response = connection.getresponse()
        response.read()
        return response.status, response.getheaders()
    finally:
        connection.close()


def test_a_429_carries_retry_after_and_the_fault_runs_out(sim: Sim, token: str) -> None:
    sim.fault(kind="rate_limit", endpoint=CP, retry_after=30, count=2)
    for _ in range(2):
        response = sim.get("me/player/currently-playing", token)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "30"
        assert response.json() == {"error": {"status": 429, "message": "API rate limit exceeded"}}
    assert sim.get("me/player/currently-playing", token).status_code == 200
    assert sim.control("GET", "faults")["faults"] == []


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"retry_after": 5, "retry_after_header": "retry-after"}, ("retry-after", "5")),
        ({"retry_after": 0}, ("Retry-After", "0")),
        ({"retry_after": 7_200}, ("Retry-After", "7200")),
        ({"retry_after": None}, None),
    ],
    ids=["lowercase", "zero", "hours", "missing"],
)
def test_retry_after_variants_are_sent_as_asked(
    sim: Sim, token: str, spec: dict, expected: tuple[str, str] | None
) -> None:
    sim.fault(kind="rate_limit", endpoint=CP, **spec)
    status, headers = raw_headers(sim, "me/player/currently-playing", token)
    assert status == 429
    retry = [(name, value) for name, value in headers if name.lower() == "retry-after"]
    assert retry == ([expected] if expected else [])


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_have_the_status_asked_for(sim: Sim, token: str, status: int) -> None:
    sim.fault(kind="error", status=status, endpoint="v1/me/player/*", count=1)
    response = sim.get("me/player/recently-played", token)
    assert response.status_code == status
    assert response.json()["error"]["status"] == status
    assert sim.get("me/player/recently-played", token).status_code == 200


def test_server_errors_can_have_an_html_or_empty_body(sim: Sim, token: str) -> None:
    sim.fault(kind="error", status=502, body="html", count=1)
    sim.fault(kind="error", status=503, body="empty", count=1)
    html = sim.get("me", token)
    assert (html.status_code, html.headers["Content-Type"]) == (502, "text/html")
    empty = sim.get("me", token)
    assert (empty.status_code, empty.content) == (503, b"")


def test_a_slow_fault_delays_the_answer_then_answers_normally(sim: Sim, token: str) -> None:
    sim.fault(kind="slow", delay_ms=400, endpoint=CP, count=1)
    began = time.monotonic()
    response = sim.get("me/player/currently-playing", token)
    assert time.monotonic() - began >= 0.4
    assert response.status_code in (200, 204)
    began = time.monotonic()
    sim.get("me/player/currently-playing", token)
    assert time.monotonic() - began < 0.4


def test_an_outage_lasts_until_cleared(sim: Sim, token: str) -> None:
    rule = sim.fault(kind="error", status=503, endpoint="v1/me/player/recently-played")
    for _ in range(5):
        assert sim.get("me/player/recently-played", token).status_code == 503
    assert sim.get("me", token).status_code == 200  # other endpoints are fine
    sim.http.delete(f"{sim.base}/_control/faults/{rule['id']}").raise_for_status()
    assert sim.get("me/player/recently-played", token).status_code == 200


def test_faults_can_target_one_account(sim: Sim, token: str) -> None:
    sim.account("bob")
    bob = sim.token("bob")
    sim.fault(kind="rate_limit", account="bob")
    assert sim.get("me", bob).status_code == 429
    assert sim.get("me", token).status_code == 200
    assert sim.control("POST", "faults/clear", {"account": "bob"}) == {"removed": 1}
    assert sim.get("me", bob).status_code == 200


def test_the_token_endpoint_can_answer_invalid_grant_as_if_revoked(sim: Sim) -> None:
    tokens = sim.control("POST", "accounts/alice/tokens", {"client_id": "app"})
    sim.fault(kind="invalid_grant", endpoint="accounts/api/token", account="alice", count=1)
    data = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": "app",
    }
    response = sim.token_request(data)
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "Refresh token revoked",
    }
    assert sim.token_request(data).status_code == 200


def test_currently_playing_can_answer_204_while_something_plays(sim: Sim, token: str) -> None:
    assert sim.get("me/player/currently-playing", token).status_code == 200
    sim.fault(kind="no_content", endpoint=CP, count=1)
    assert sim.get("me/player/currently-playing", token).status_code == 204
    assert sim.get("me/player/currently-playing", token).status_code == 200


def test_the_request_log_shows_when_each_call_came_and_how_it_went(sim: Sim, token: str) -> None:
    rule = sim.fault(kind="rate_limit", endpoint=CP, retry_after=60, count=1)
    first = sim.get("me/player/currently-playing", token)
    sim.advance(60)
    sim.get("me/player/currently-playing", token)
    log = sim.control("GET", "accounts/alice/requests")["requests"]
    calls = [r for r in log if r["endpoint"] == CP]
    assert [(r["status"], r["fault_id"]) for r in calls] == [(429, rule["id"]), (200, None)]
    retry_after_ms = int(first.headers["Retry-After"]) * 1000
    assert calls[1]["at_ms"] - calls[0]["at_ms"] >= retry_after_ms  # no call before Retry-After
    since = sim.control("GET", "accounts/alice/requests", since=calls[1]["at_ms"])["requests"]
    assert [r["status"] for r in since] == [200]
    sim.http.delete(f"{sim.base}/_control/accounts/alice/requests").raise_for_status()
    assert sim.control("GET", "accounts/alice/requests")["requests"] == []


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "teapot"},
        {"kind": "error", "status": 404},
        {"kind": "rate_limit", "count": 0},
        {"kind": "rate_limit", "retry_after_header": "X-Retry"},
        {"kind": "slow", "colour": "red"},
    ],
)
def test_bad_fault_rules_are_refused(sim: Sim, spec: dict) -> None:
    response = sim.http.post(f"{sim.base}/_control/faults", json=spec)
    assert response.status_code == 400
    assert "error" in response.json()
