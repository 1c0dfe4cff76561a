"""``/api/v1/admin``: users, everyone's API keys, the audit log, backups. Admins only."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import JSONBody, PathParameter, QueryParameter

from api.auth.credentials import hash_password
from api.auth.guards import role
from api.backup import BACKUP_DEADLINE_S, BackupError, TargetTaken, make_backup
from api.deadline import DEADLINE_OPT
from api.deps import RuntimeDep
from api.errors import problem
from api.routes.auth import PrefixPath
from schemas.auth import (
    USERNAME_PATTERN,
    ApiKeyCreated,
    ApiKeyInfo,
    AuditEntry,
    KeyName,
    Role,
    UserCreate,
    UserInfo,
    Username,
    UserUpdate,
)
from schemas.backups import BackupManifest, BackupRequest

UserPath = Annotated[str, PathParameter(pattern=USERNAME_PATTERN, max_length=64)]


class KeyForUser(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Body of ``POST /api/v1/admin/api-keys``: a key for any user, at most that user's role."""

    username: Username
    name: KeyName
    role: Role | None = None
    expires_at: dt.datetime | None = None


class AdminController(Controller):
    """Administration."""

    path = "/api/v1/admin"
    tags = ["admin"]
    opt = role("admin")

    @get("/users", operation_id="listUsers")
    async def users(self, runtime: RuntimeDep) -> list[UserInfo]:
        """Every user."""
        return [user.info() for user in await runtime.auth.users.all()]

    @post("/users", operation_id="createUser", status_code=201)
    async def create_user(self, data: JSONBody[UserCreate], runtime: RuntimeDep) -> UserInfo:
        """Add a user with a password and a role."""
        user = await runtime.auth.users.create(data.username, hash_password(data.password), data.role)
        return user.info()

    @patch("/users/{username:str}", operation_id="updateUser")
    async def update_user(
        self, username: UserPath, data: JSONBody[UserUpdate], runtime: RuntimeDep
    ) -> UserInfo:
        """Change a user's role, password or active flag (a new password or deactivation ends sessions)."""
        auth = runtime.auth
        current = await auth.users.get(username)
        demoting = current.role == "admin" and (data.role not in (None, "admin") or data.is_active is False)
        if demoting and await auth.users.count_admins() <= 1:
            raise ValueError("the last active admin cannot be demoted or deactivated")
        user = await auth.users.update(
            username,
            role=data.role,
            password_hash=hash_password(data.password) if data.password else None,
            is_active=data.is_active,
        )
        if data.password or data.is_active is False:
            await auth.sessions.revoke_user(user.id)
        return user.info()

    @get("/api-keys", operation_id="listApiKeys")
    async def keys(self, runtime: RuntimeDep) -> list[ApiKeyInfo]:
        """Every API key (never the keys themselves)."""
        return [record.info() for record in await runtime.auth.keys.list()]

    @post("/api-keys", operation_id="createApiKey", status_code=201)
    async def create_key(self, data: JSONBody[KeyForUser], runtime: RuntimeDep) -> ApiKeyCreated:
        """A new key for any user; shown only in this answer."""
        return await runtime.auth.create_key(data.username, data.name, data.role, data.expires_at)

    @delete("/api-keys/{prefix:str}", operation_id="revokeApiKey", status_code=204)
    async def revoke_key(self, prefix: PrefixPath, runtime: RuntimeDep) -> None:
        """Revoke any API key."""
        await runtime.auth.keys.revoke(prefix)

    @get("/audit", operation_id="auditLog")
    async def audit(
        self,
        runtime: RuntimeDep,
        actor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        action: Annotated[str | None, QueryParameter(max_length=200)] = None,
        outcome: Annotated[str | None, QueryParameter(pattern=r"^(ok|denied|error)$")] = None,
        since: Annotated[dt.datetime | None, QueryParameter()] = None,
        until: Annotated[dt.datetime | None, QueryParameter()] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=5000)] = 200,
    ) -> list[AuditEntry]:
        """Audited writes and auth events, newest first; ``action`` matches as a prefix."""
        return await runtime.auth.audit.search(
            actor=actor, action=action, outcome=outcome, since=since, until=until, limit=limit
        )

    @post(
        "/backup",
        operation_id="createBackup",
        status_code=201,
        opt={**role("admin"), DEADLINE_OPT: BACKUP_DEADLINE_S},
    )
    async def backup(self, data: JSONBody[BackupRequest], runtime: RuntimeDep) -> BackupManifest:
        """Write a backup into ``path`` on the server's machine (absolute, new or empty); answer its manifest.

        Synchronous: the answer comes once the backup is whole (within the route's deadline); the bar
        store answers other queries after the snapshot's.
        """
        data_dir = runtime.settings.stores.data_dir.resolve()
        try:
            return await make_backup(runtime.stack, data_dir, Path(data.path))
        except TargetTaken as exc:
            raise problem(409, str(exc)) from None
        except BackupError as exc:
            raise problem(400, str(exc)) from None
