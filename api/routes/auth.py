"""``/api/v1/auth``: sign in and out, refresh, who am I, my API keys."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.exceptions import NotAuthorizedException
from litestar.params import JSONBody, PathParameter

from api.auth.addresses import client_address
from api.auth.cookies import cleared_cookies, session_cookies
from api.auth.guards import PUBLIC, check_csrf, role
from api.auth.middleware import REFRESH_COOKIE
from api.auth.principal import principal_of
from api.deps import RuntimeDep
from schemas.auth import ApiKeyCreate, ApiKeyCreated, ApiKeyInfo, LoginRequest, Me, Session, TokenLoginRequest

PrefixPath = Annotated[str, PathParameter(pattern=r"^[A-Za-z0-9_\-]{4,40}$")]


class AuthController(Controller):
    """Sessions and personal API keys."""

    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/login", operation_id="login", opt=PUBLIC, status_code=200)
    async def login(
        self, data: JSONBody[LoginRequest], runtime: RuntimeDep, request: Request[Any, Any, Any]
    ) -> Response[Session]:
        """Sign in with a user name and password; the session travels in HttpOnly cookies."""
        issued = await runtime.auth.login(
            data.username, data.password, client_address(request.scope), request.headers.get("user-agent")
        )
        return Response(issued.session, cookies=session_cookies(request, issued))

    @post("/token-login", operation_id="tokenLogin", opt=PUBLIC, status_code=200)
    async def token_login(
        self, data: JSONBody[TokenLoginRequest], runtime: RuntimeDep, request: Request[Any, Any, Any]
    ) -> Response[Session]:
        """Sign in with the one-time link ``k2q up`` prints."""
        issued = await runtime.auth.login_with_link(
            data.token, client_address(request.scope), request.headers.get("user-agent")
        )
        return Response(issued.session, cookies=session_cookies(request, issued))

    @post("/refresh", operation_id="refreshSession", opt=PUBLIC, status_code=200)
    async def refresh(self, runtime: RuntimeDep, request: Request[Any, Any, Any]) -> Response[Session]:
        """Exchange the refresh cookie for a new session (needs ``X-CSRF-Token``)."""
        token = request.cookies.get(REFRESH_COOKIE)
        if not token:
            raise NotAuthorizedException("no session to refresh; sign in")
        check_csrf(request)
        issued = await runtime.auth.refresh(token, client_address(request.scope))
        return Response(issued.session, cookies=session_cookies(request, issued))

    @post("/logout", operation_id="logout", opt=PUBLIC, status_code=204)
    async def logout(self, runtime: RuntimeDep, request: Request[Any, Any, Any]) -> Response[None]:
        """End this session and clear its cookies (works with an expired access token too)."""
        refresh = request.cookies.get(REFRESH_COOKIE)
        principal = request.scope.get("user")
        if principal is not None or refresh:
            check_csrf(request)
            await runtime.auth.logout(principal, refresh, client_address(request.scope))
        return Response(None, status_code=204, cookies=cleared_cookies())

    @get("/me", operation_id="me", opt=role("viewer"))
    async def me(self, request: Request[Any, Any, Any]) -> Me:
        """Who the caller is, with which role, signed in how."""
        principal = principal_of(request)
        return Me(username=principal.username, role=principal.role, auth=principal.auth)

    @get("/api-keys", operation_id="listMyApiKeys", opt=role("viewer"))
    async def my_keys(self, runtime: RuntimeDep, request: Request[Any, Any, Any]) -> list[ApiKeyInfo]:
        """My API keys (never the keys themselves)."""
        return [record.info() for record in await runtime.auth.keys.list(principal_of(request).username)]

    @post("/api-keys", operation_id="createMyApiKey", opt=role("viewer"), status_code=201)
    async def create_key(
        self, data: JSONBody[ApiKeyCreate], runtime: RuntimeDep, request: Request[Any, Any, Any]
    ) -> ApiKeyCreated:
        """A new API key for me, with at most my role; the key is shown only in this answer."""
        principal = principal_of(request)
        created = await runtime.auth.create_key(principal.username, data.name, data.role, data.expires_at)
        await runtime.auth.audit.record(
            actor=principal.actor, actor_kind=principal.actor_kind,
            action="auth.api_key.create", target=created.info.prefix, outcome="ok", status=201,
            ip=client_address(request.scope), detail={"role": created.info.role, "name": created.info.name},
        )  # fmt: skip
        return created

    @delete("/api-keys/{prefix:str}", operation_id="revokeMyApiKey", opt=role("viewer"), status_code=204)
    async def revoke_key(
        self, prefix: PrefixPath, runtime: RuntimeDep, request: Request[Any, Any, Any]
    ) -> None:
        """Revoke one of my API keys."""
        principal = principal_of(request)
        await runtime.auth.keys.revoke(prefix, principal.username)
        await runtime.auth.audit.record(
            actor=principal.actor, actor_kind=principal.actor_kind,
            action="auth.api_key.revoke", target=prefix, outcome="ok", status=204,
            ip=client_address(request.scope),
        )  # fmt: skip
