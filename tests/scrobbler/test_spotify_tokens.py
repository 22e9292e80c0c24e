"""Tokens at rest: encrypted, rotatable to a new key, never readable without a key."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from pytest_django import Settings

from scrobbler.models import SpotifyAccount, User
from scrobbler.spotify import crypto
from tests.processes import manage
from tests.scrobbler.spotify_helpers import linked_account
from tests.test_startup import GOOD_KEY, assert_one_line_error, clean_env

pytestmark = pytest.mark.django_db


def test_tokens_are_stored_encrypted(alice: User) -> None:
    account = linked_account(alice)
    stored = SpotifyAccount.objects.values_list("access_token_encrypted", flat=True).get(
        pk=account.pk
    )
    assert "access-alice" not in stored
    assert crypto.decrypt(stored) == "access-alice"


def test_rotation_reencrypts_with_the_new_key_so_the_old_one_can_go(
    alice: User, bob: User, settings: Settings
) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    settings.TOKEN_ENCRYPTION_KEYS = [old]
    linked_account(alice)
    linked_account(bob)

    settings.TOKEN_ENCRYPTION_KEYS = [new, old]
    out = StringIO()
    call_command("rotate_token_key", stdout=out)
    assert "2 Spotify account(s)" in out.getvalue()

    settings.TOKEN_ENCRYPTION_KEYS = [new]  # the old key is gone: everything still decrypts
    for account in SpotifyAccount.objects.select_related("user"):
        name = account.user.username
        assert crypto.decrypt(account.access_token_encrypted) == f"access-{name}"
        assert crypto.decrypt(account.refresh_token_encrypted) == f"refresh-{name}"


def test_rotation_without_the_old_key_fails_clearly_and_changes_nothing(
    alice: User, settings: Settings
) -> None:
    settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key()]
    account = linked_account(alice)
    before = account.access_token_encrypted
    settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key()]
    with pytest.raises(CommandError, match="keep the old key"):
        call_command("rotate_token_key")
    account.refresh_from_db()
    assert account.access_token_encrypted == before


def test_a_malformed_key_stops_start_up_with_one_line(tmp_path: Path) -> None:
    env = clean_env(tmp_path, SECRET_KEY=GOOD_KEY, TOKEN_ENCRYPTION_KEYS="not-a-key")
    assert_one_line_error(manage("check", env=env), "TOKEN_ENCRYPTION_KEYS")


def test_production_mode_requires_a_token_key(tmp_path: Path) -> None:
    env = clean_env(
        tmp_path,
        SECRET_KEY=GOOD_KEY,
        SPOTIFY_CLIENT_ID="abc",
        SPOTIFY_CLIENT_SECRET="s3cret",
        SPOTIFY_REDIRECT_URI="https://encore.example/spotify/callback",
    )
    assert_one_line_error(manage("check", env=env), "TOKEN_ENCRYPTION_KEYS")
