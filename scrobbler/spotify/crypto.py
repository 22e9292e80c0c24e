"""Spotify tokens at rest: Fernet-encrypted with the newest of TOKEN_ENCRYPTION_KEYS."""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


@cache
def _fernet(keys: tuple[bytes, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.TOKEN_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode() if plaintext else ""


def decrypt(ciphertext: str) -> str:
    """The token; raises TokenKeyError when no configured key can decrypt it."""
    if not ciphertext:
        return ""
    try:
        return fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise TokenKeyError(
            "a stored token cannot be decrypted with TOKEN_ENCRYPTION_KEYS"
        ) from exc


def rotate(ciphertext: str) -> str:
    """The same token encrypted with the newest key."""
    if not ciphertext:
        return ""
    try:
        return fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise TokenKeyError(
            "a stored token cannot be decrypted with TOKEN_ENCRYPTION_KEYS"
        ) from exc


class TokenKeyError(Exception):
    pass
