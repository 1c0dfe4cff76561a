"""Access control: roles, sessions, API keys, users and the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Final, Literal, get_args

import msgspec

Role = Literal["viewer", "analyst", "admin"]
"""``viewer`` reads; ``analyst`` also fetches and computes; ``admin`` also manages users, keys, deletes."""

ROLES: Final[tuple[Role, ...]] = get_args(Role)
ROLE_RANK: Final[dict[Role, int]] = {"viewer": 1, "analyst": 2, "admin": 3}

AuthKind = Literal["session", "api_key"]
ActorKind = Literal["user", "api_key", "anonymous", "system"]
Outcome = Literal["ok", "denied", "error"]

USERNAME_PATTERN: Final = r"^[a-z0-9][a-z0-9_.@-]{0,63}$"
Username = Annotated[str, msgspec.Meta(pattern=USERNAME_PATTERN, min_length=1, max_length=64)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
NewPassword = Annotated[str, msgspec.Meta(min_length=10, max_length=1024)]
KeyName = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


def outranks(role: Role, required: Role) -> bool:
    """Whether ``role`` may do what ``required`` may.

    >>> outranks("admin", "analyst"), outranks("viewer", "analyst")
    (True, False)
    """
    return ROLE_RANK[role] >= ROLE_RANK[required]


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Body of ``POST /api/v1/auth/login``."""

    username: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    password: Password


class TokenLoginRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Body of ``POST /api/v1/auth/token-login``: the token of a one-time login link."""

    token: Annotated[str, msgspec.Meta(min_length=16, max_length=200)]


class SessionUser(msgspec.Struct, kw_only=True):
    """Who a session belongs to."""

    username: str
    role: Role


class Session(msgspec.Struct, kw_only=True):
    """A browser session; the tokens themselves travel in HttpOnly cookies."""

    user: SessionUser
    csrf_token: str
    """Send it back as ``X-CSRF-Token`` on every unsafe request made with the session cookie."""
    access_expires_at: dt.datetime


class Me(msgspec.Struct, kw_only=True):
    """Answer of ``GET /api/v1/auth/me``."""

    username: str
    role: Role
    auth: AuthKind


class ApiKeyInfo(msgspec.Struct, kw_only=True):
    """An API key as listed: never the key itself, only its visible prefix."""

    prefix: str
    name: str
    role: Role
    username: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None


class ApiKeyCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Body of ``POST /api/v1/auth/api-keys``; the role defaults to, and may not exceed, the owner's."""

    name: KeyName
    role: Role | None = None
    expires_at: dt.datetime | None = None


class ApiKeyCreated(msgspec.Struct, kw_only=True):
    """A new key: ``key`` is shown this once and stored only as a hash."""

    key: str
    info: ApiKeyInfo


class UserInfo(msgspec.Struct, kw_only=True):
    """A user as admins see it."""

    username: str
    role: Role
    is_active: bool
    created_at: dt.datetime


class UserCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Body of ``POST /api/v1/admin/users``."""

    username: Username
    password: NewPassword
    role: Role = "viewer"


class UserUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Body of ``PATCH /api/v1/admin/users/{username}``: the fields to change."""

    role: Role | None = None
    password: NewPassword | None = None
    is_active: bool | None = None


class AuditEntry(msgspec.Struct, kw_only=True):
    """One audited write or auth event."""

    at: dt.datetime
    actor: str | None
    actor_kind: ActorKind
    action: str
    target: str | None
    outcome: Outcome
    status: int | None
    ip: str | None
    detail: dict[str, Any]
