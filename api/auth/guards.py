"""Every route declares who may call it; requests that may not are refused before the handler runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from api.auth.credentials import same
from api.auth.middleware import CSRF_COOKIE, CSRF_HEADER, UNSAFE_METHODS, VIA_COOKIE, cookies_of
from schemas.auth import ROLES, outranks

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection
    from litestar.handlers.base import BaseRouteHandler

PUBLIC = {"public": True}
"""``opt`` of a route anyone may call (health, sign-in, the web app's files)."""


def role(name: str) -> dict[str, Any]:
    """``opt`` of a route that needs at least role ``name``."""
    if name not in ROLES:
        raise ValueError(f"unknown role {name!r}")
    return {"role": name}


def authorize(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """The app-wide guard: closed unless the route says who may call it.

    Raises:
        NotAuthorizedException: nobody signed in (401).
        PermissionDeniedException: the role is too low, the route declares no role, or a cookie-borne
            write lacks its CSRF token (403).
    """
    opt = handler.opt
    if (
        opt.get("public") or connection.scope.get("method") == "OPTIONS"
    ):  # CORS preflights carry no credentials
        return
    required = opt.get("role")
    if required is None:
        raise PermissionDeniedException("this route declares no role")
    principal = connection.scope.get("user")
    if principal is None:
        raise NotAuthorizedException("sign in, or send an API key as 'Authorization: Bearer <key>'")
    if not outranks(principal.role, required):
        raise PermissionDeniedException(f"this needs the {required} role; you are {principal.role}")
    if connection.scope.get(VIA_COOKIE) and connection.scope.get("method") in UNSAFE_METHODS:
        check_csrf(connection)


def check_csrf(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """A write carried by the session cookie must echo the CSRF cookie in ``X-CSRF-Token``.

    Raises:
        PermissionDeniedException: it does not.
    """
    expected = cookies_of(connection.scope).get(CSRF_COOKIE)
    given = connection.headers.get(CSRF_HEADER)
    if not expected or not given or not same(expected, given):
        raise PermissionDeniedException("missing or wrong X-CSRF-Token header")
