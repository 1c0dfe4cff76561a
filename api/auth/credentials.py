"""Secrets at rest: password hashes, API keys, opaque tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

API_KEY_PREFIX: Final = "k2q_"
"""Every generated API key starts with this, so a leaked key is recognisable (e.g. by secret scanners)."""

_hasher = PasswordHasher()
_DUMMY_HASH: Final = _hasher.hash("k2q-timing-equaliser")


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; costs the same time when there is no hash (no user enumeration)."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_api_key() -> tuple[str, str]:
    """A new API key and its visible prefix.

    >>> key, prefix = new_api_key()
    >>> key.startswith(prefix) and prefix.startswith("k2q_")
    True
    """
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return key, key[:12]


def token_hash(token: str) -> str:
    """SHA-256 of a high-entropy token (API key, refresh token, login link): enough, and fast to look up."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh opaque token (256 bits)."""
    return secrets.token_urlsafe(32)


def same(a: str, b: str) -> bool:
    """Constant-time string comparison."""
    return hmac.compare_digest(a.encode(), b.encode())
