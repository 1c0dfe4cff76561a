"""Who is asking (every request), and an audit entry for every write."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Final

import structlog
from litestar.enums import ScopeType

from api.auth.addresses import client_address
from api.auth.principal import Principal
from schemas.auth import Outcome

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

    from api.runtime import Runtime

ACCESS_COOKIE: Final = "k2q_access"
REFRESH_COOKIE: Final = "k2q_refresh"
CSRF_COOKIE: Final = "k2q_csrf"
CSRF_HEADER: Final = "x-csrf-token"
UNSAFE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
VIA_COOKIE: Final = "k2q_via_cookie"

log = structlog.get_logger(__name__)


def _runtime(scope: Scope) -> Runtime:
    runtime: Runtime = scope["litestar_app"].state.runtime
    return runtime


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def cookies_of(scope: Scope) -> dict[str, str]:
    """The request's cookies."""
    raw = _header(scope, b"cookie") or ""
    pairs = (part.strip().partition("=") for part in raw.split(";") if "=" in part)
    return {name: value for name, _, value in pairs}


class AuthenticationMiddleware:
    """Puts the :class:`Principal` (or None) in ``scope["user"]``; guards decide what it may do."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Authenticate, then pass the request on."""
        if scope["type"] in ("http", "websocket"):
            handler = scope.get("route_handler")
            # The web app's files are public and many: asking the catalog who sent each would be waste.
            needed = handler is None or handler.opt.get("authenticate", True)
            principal, via_cookie = await self._authenticate(scope) if needed else (None, False)
            scope["user"] = principal
            scope["auth"] = principal.auth if principal else None
            scope[VIA_COOKIE] = via_cookie  # type: ignore[typeddict-unknown-key]
        await self.app(scope, receive, send)

    async def _authenticate(self, scope: Scope) -> tuple[Principal | None, bool]:
        auth = _runtime(scope).auth
        header = _header(scope, b"authorization")
        if header:
            scheme, _, credential = header.partition(" ")
            credential = credential.strip()
            if scheme.lower() != "bearer" or not credential:
                return None, False
            if credential.startswith("eyJ"):
                return await auth.from_access_token(credential), False
            return await auth.from_api_key(credential), False
        token = cookies_of(scope).get(ACCESS_COOKIE)
        if token:
            return await auth.from_access_token(token), True
        return None, False


class AuditMiddleware:
    """Records every write (unsafe method) with who, what, when, from where and the outcome.

    Sign-in, sign-out and key events are recorded by the auth service itself, with more detail.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; record it afterwards when it was a write."""
        method = str(scope.get("method", ""))
        handler = scope.get("route_handler")
        if (
            scope["type"] != ScopeType.HTTP
            or method not in UNSAFE_METHODS
            or (handler is not None and handler.opt.get("audit") is False)
            or scope["path"].startswith("/api/v1/auth/")
        ):
            await self.app(scope, receive, send)
            return
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            await self._record(scope, method, status)

    async def _record(self, scope: Scope, method: str, status: int) -> None:
        principal: Principal | None = scope.get("user")
        outcome: Outcome = "ok" if status < 400 else "denied" if status in (401, 403, 429) else "error"
        template = scope.get("path_template") or scope["path"]
        detail: dict[str, Any] = {"path": scope["path"]}
        with contextlib.suppress(Exception):
            await _runtime(scope).auth.audit.record(
                actor=principal.actor if principal else None,
                actor_kind=principal.actor_kind if principal else "anonymous",
                action=f"{method} {template}",
                target=",".join(str(v) for v in (scope.get("path_params") or {}).values()) or None,
                outcome=outcome,
                status=status,
                ip=client_address(scope),
                detail=detail,
            )
