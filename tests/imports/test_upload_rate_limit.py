"""Uploads of exports are rate-limited per user: each one is stored and analysed."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from pytest_django import Settings

from imports.models import Import
from scrobbler.models import User

pytestmark = pytest.mark.django_db


def upload(client: Client) -> int:
    files = {"files": SimpleUploadedFile("endsong_0.json", b"[]")}
    return client.post(reverse("imports"), files).status_code


def test_uploads_past_the_rate_are_refused_with_a_page_that_says_so(
    settings: Settings, alice: User, bob: User
) -> None:
    settings.IMPORT_UPLOAD_RATE = "2/h"
    client = Client()
    client.force_login(alice)
    assert [upload(client), upload(client)] == [302, 302]
    refused = client.post(reverse("imports"), {"files": SimpleUploadedFile("a.json", b"[]")})
    assert refused.status_code == 429
    assert "Too many uploads" in refused.content.decode()
    assert int(refused["Retry-After"]) > 0
    assert Import.objects.filter(user=alice).count() == 2
    # The page itself still opens, and bob has his own allowance.
    assert client.get(reverse("imports")).status_code == 200
    other = Client()
    other.force_login(bob)
    assert upload(other) == 302
