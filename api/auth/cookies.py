"""The session cookies: HttpOnly tokens, a readable CSRF token, all SameSite=Strict."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie

from api.auth.middleware import ACCESS_COOKIE, CSRF_COOKIE, REFRESH_COOKIE
from api.auth.service import IssuedSession

REFRESH_PATH = "/api/v1/auth"


def _secure(request: Request[Any, Any, Any]) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def session_cookies(request: Request[Any, Any, Any], issued: IssuedSession) -> list[Cookie]:
    """Cookies that carry a freshly issued session."""
    secure = _secure(request)
    now = dt.datetime.now(dt.UTC)
    access_age = int((issued.session.access_expires_at - now).total_seconds())
    refresh_age = int((issued.refresh_expires_at - now).total_seconds())
    return [
        Cookie(key=ACCESS_COOKIE, value=issued.access_token, path="/", httponly=True, samesite="strict",
               secure=secure, max_age=access_age),
        Cookie(key=REFRESH_COOKIE, value=issued.refresh_token, path=REFRESH_PATH, httponly=True,
               samesite="strict", secure=secure, max_age=refresh_age),
        Cookie(key=CSRF_COOKIE, value=issued.session.csrf_token, path="/", httponly=False, samesite="strict",
               secure=secure, max_age=refresh_age),
    ]  # fmt: skip


def cleared_cookies() -> list[Cookie]:
    """Cookies that end the session in the browser."""
    return [
        Cookie(key=ACCESS_COOKIE, value="", path="/", max_age=0, httponly=True, samesite="strict"),
        Cookie(key=REFRESH_COOKIE, value="", path=REFRESH_PATH, max_age=0, httponly=True, samesite="strict"),
        Cookie(key=CSRF_COOKIE, value="", path="/", max_age=0, samesite="strict"),
    ]
