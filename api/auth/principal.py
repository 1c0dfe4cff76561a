"""Who is asking: the authenticated principal of a request."""

from __future__ import annotations

import uuid

import msgspec

from schemas.auth import AuthKind, Role


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """A signed-in user (through a session) or an API key acting for its owner."""

    username: str
    role: Role
    """The effective role: a key's role, never more than its owner's current one."""
    auth: AuthKind
    session_id: uuid.UUID | None = None
    key_prefix: str | None = None

    @property
    def actor(self) -> str:
        """How the audit log names this principal."""
        return self.username if self.key_prefix is None else f"{self.username} (key {self.key_prefix})"
