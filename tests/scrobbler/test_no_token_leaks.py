"""Tokens and secrets never reach the logs or the pages, whatever happens along the way."""

from __future__ import annotations

import logging

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django import Settings

from scrobbler import polling
from scrobbler.models import SpotifyAccount, User
from scrobbler.spotify import accounts, crypto
from tests.scrobbler.simulator.conftest import Sim
from tests.scrobbler.spotify_helpers import finish_link, start_link

pytestmark = pytest.mark.django_db

CLIENT_SECRET = "client-secret-that-must-never-be-logged"


def test_a_full_flow_at_debug_level_logs_no_token_or_secret(
    client: Client,
    alice: User,
    sim: Sim,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings.SPOTIFY_API_BASE_URL = sim.api
    settings.SPOTIFY_ACCOUNTS_BASE_URL = sim.accounts
    settings.SPOTIFY_CLIENT_SECRET = CLIENT_SECRET
    caplog.set_level(logging.DEBUG)  # every logger, urllib3's request lines included
    client.force_login(alice)
    secrets = {CLIENT_SECRET}
    pages = []

    pages.append(finish_link(client, start_link(client, sim, "alice-sp")))
    account = SpotifyAccount.objects.get(user=alice)
    secrets |= {
        crypto.decrypt(account.access_token_encrypted),
        crypto.decrypt(account.refresh_token_encrypted),
    }

    sim.account("alice-sp", options={"rotate_refresh_tokens": True})
    SpotifyAccount.objects.filter(pk=account.pk).update(access_token_expires_at=timezone.now())
    polling.poll_accounts([account.pk], force=True)  # refresh with rotation, then both endpoints
    account.refresh_from_db()
    secrets |= {
        crypto.decrypt(account.access_token_encrypted),
        crypto.decrypt(account.refresh_token_encrypted),
    }

    sim.fault(kind="rate_limit", endpoint="v1/*", count=1)
    sim.fault(kind="error", status=502, endpoint="v1/*", body="html", count=1)
    polling.poll_accounts([account.pk], force=True)
    polling.poll_accounts([account.pk], force=True)
    sim.control("POST", "accounts/alice-sp/revoke")
    SpotifyAccount.objects.filter(pk=account.pk).update(access_token_expires_at=timezone.now())
    polling.poll_accounts([account.pk], force=True)  # invalid_grant
    account.refresh_from_db()
    assert account.status == SpotifyAccount.Status.NEEDS_RELINK

    pages.append(client.get("/spotify/").content.decode())
    pages.append(client.get("/").content.decode())
    pages.append(client.get("/recent/").content.decode())
    everything = caplog.text + "".join(pages) + account.status_detail + account.last_error
    assert "HTTP" in caplog.text or "GET" in caplog.text  # the requests really were logged
    for secret in secrets:
        assert secret not in everything
    assert accounts.SESSION_KEY not in everything
