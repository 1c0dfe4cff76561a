"""Signed access tokens (JWT, HS256 only) for browser sessions."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Final

import jwt

ALGORITHM: Final = "HS256"
ISSUER: Final = "k2q"


class InvalidToken(Exception):
    """The token is malformed, tampered with, expired, of another algorithm or another kind."""


def issue_access_token(
    secret: str, username: str, session_id: uuid.UUID, lifetime: dt.timedelta
) -> tuple[str, dt.datetime]:
    """A signed token naming the user and session; returns it with its expiry."""
    now = dt.datetime.now(dt.UTC)
    expires = now + lifetime
    claims = {
        "sub": username,
        "sid": str(session_id),
        "typ": "access",
        "iss": ISSUER,
        "iat": now,
        "exp": expires,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM), expires


def read_access_token(secret: str, token: str) -> tuple[str, uuid.UUID]:
    """The ``(username, session_id)`` of a valid token.

    Only HS256 is accepted, so ``alg: none`` and algorithm-confusion tokens fail.

    Raises:
        InvalidToken: for any token that is not one we issued and still valid.
    """
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "sub", "sid", "typ"]},
        )
        if claims["typ"] != "access":
            raise InvalidToken("not an access token")
        return str(claims["sub"]), uuid.UUID(str(claims["sid"]))
    except (jwt.PyJWTError, ValueError, KeyError) as exc:
        raise InvalidToken(str(exc)) from None
