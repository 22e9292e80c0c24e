"""Playback controls are rate-limited per user, with a 429 the player can read."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from pytest_django import Settings

from scrobbler.models import User

pytestmark = pytest.mark.django_db


def control(client: Client, action: str) -> Any:
    body = json.dumps({"device": "laptop-0001"})
    return client.post(f"/api/sessions/me/{action}", body, content_type="application/json")


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    assert client.post(
        "/api/devices", json.dumps({"id": "laptop-0001", "name": "Laptop"}), "application/json"
    ).json() == {"id": "laptop-0001", "name": "Laptop"}
    return client


def test_controls_past_the_rate_are_refused_with_429_per_user(
    settings: Settings, alice: User, bob: User
) -> None:
    settings.PLAYBACK_CONTROL_RATE = "3/m"
    alices, bobs = signed_in(alice), signed_in(bob)
    for action in ("pause", "stop", "pause"):
        assert control(alices, action).status_code == 200
    refused = control(alices, "pause")
    assert refused.status_code == 429
    assert refused.json() == {"error": "Too many playback controls: wait a moment."}
    assert 0 < int(refused["Retry-After"]) <= 60
    # Reading the snapshot is not a control, and bob has his own allowance.
    assert alices.get("/api/sessions/me").status_code == 200
    assert control(bobs, "pause").status_code == 200


def test_unknown_controls_are_not_counted(settings: Settings, alice: User) -> None:
    settings.PLAYBACK_CONTROL_RATE = "1/m"
    client = signed_in(alice)
    assert control(client, "explode").status_code == 404
    assert control(client, "pause").status_code == 200
