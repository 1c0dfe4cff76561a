"""Who is asking: the authenticated principal of a request."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException

from schemas.auth import ActorKind, AuthKind, Role


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """A signed-in user (through a session) or an API key acting for its owner."""

    username: str
    role: Role
    """The effective role: a key's role, never more than its owner's current one."""
    auth: AuthKind
    session_id: uuid.UUID | None = None
    key_prefix: str | None = None

    @property
    def actor_kind(self) -> ActorKind:
        """How the audit log classes this principal."""
        return "user" if self.key_prefix is None else "api_key"

    @property
    def actor(self) -> str:
        """How the audit log names this principal."""
        return self.username if self.key_prefix is None else f"{self.username} (key {self.key_prefix})"


def principal_of(request: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The signed-in principal of a request or socket that passed the role guard."""
    user = request.scope.get("user")
    if not isinstance(user, Principal):
        raise NotAuthorizedException("sign in first")
    return user
