"""A real HTTP server running the simulator (in a thread of the test process), and helpers."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

T0 = "2026-03-01T12:00:00Z"
T0_MS = 1_772_366_400_000
REDIRECT_URI = "http://127.0.0.1:9/callback"


class Sim:
    """Drives the simulator over HTTP: the control API, the accounts service and the Web API."""

    def __init__(self, base: str, client: httpx.Client) -> None:
        self.base = base
        self.api = f"{base}/v1"
        self.accounts = f"{base}/accounts"
        self.http = client

    def control(self, method: str, path: str, body: dict[str, Any] | None = None, **params: Any):
        response = self.http.request(
            method, f"{self.base}/_control/{path}", json=body, params=params or None
        )
        assert response.status_code < 300, response.text
        return response.json()

    def set_clock(self, now: str | int) -> int:
        return int(self.control("POST", "clock", {"now": now})["now_ms"])

    def advance(self, seconds: float) -> int:
        return int(self.control("POST", "clock", {"advance_s": seconds})["now_ms"])

    def account(self, account_id: str, **spec: Any) -> dict[str, Any]:
        return self.control("POST", f"accounts/{account_id}", spec)

    def token(self, account_id: str, **spec: Any) -> str:
        return str(self.control("POST", f"accounts/{account_id}/tokens", spec)["access_token"])

    def fault(self, **spec: Any) -> dict[str, Any]:
        return self.control("POST", "faults", spec)

    def plays(self, account_id: str, **window: Any) -> list[dict[str, Any]]:
        return list(self.control("GET", f"accounts/{account_id}/plays", **window)["plays"])

    def segments(self, account_id: str, **window: Any) -> list[dict[str, Any]]:
        return list(self.control("GET", f"accounts/{account_id}/segments", **window)["segments"])

    def get(self, path: str, token: str | None, **params: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http.get(f"{self.api}/{path}", headers=headers, params=params or None)

    def token_request(self, data: dict[str, str], auth: tuple[str, str] | None = None):
        url = f"{self.accounts}/api/token"
        return self.http.post(url, data=data, auth=auth) if auth else self.http.post(url, data=data)

    def authorize(self, **params: str) -> httpx.Response:
        return self.http.get(f"{self.accounts}/authorize", params=params)

    def at_segment(self, account_id: str, predicate: Any, *, hours: float = 12) -> dict[str, Any]:
        """Set the clock to the middle of the first segment (within ``hours`` from the listener's
        start) that matches, and return that segment."""
        start = self.control("GET", f"accounts/{account_id}")["start_ms"]
        segments = self.segments(account_id, start=start, end=start + int(hours * 3_600_000))
        segment = next((s for s in segments if predicate(s)), None)
        assert segment is not None, "no segment matches: change the seed or the profile"
        self.set_clock((segment["start_ms"] + segment["end_ms"]) // 2)
        return segment


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def redirect_params(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI), location
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
