"""Spotify tokens at rest: Fernet-encrypted with the newest of TOKEN_ENCRYPTION_KEYS."""

from __future__ import annotations

from collections.abc import Callable
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
    return _with_keys(lambda token: fernet().decrypt(token), ciphertext)


def rotate(ciphertext: str) -> str:
    """The same token encrypted with the newest key."""
    return _with_keys(lambda token: fernet().rotate(token), ciphertext)


def _with_keys(operation: Callable[[bytes], bytes], ciphertext: str) -> str:
    if not ciphertext:
        return ""
    try:
        return operation(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise TokenKeyError(
            "a stored token cannot be decrypted with TOKEN_ENCRYPTION_KEYS"
        ) from exc


class TokenKeyError(Exception):
    pass
