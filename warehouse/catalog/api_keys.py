"""API keys: stored as a hash under a visible prefix."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from schemas.auth import ApiKeyInfo, Role
from warehouse.errors import NotFound

_COLUMNS = (
    "k.id, k.prefix, k.name, k.role, k.key_hash, k.created_at, k.last_used_at, k.expires_at, k.revoked_at,"
    " u.username, u.role AS user_role, u.is_active AS user_active"
)
_FROM = "FROM api_keys k JOIN users u ON u.id = k.user_id"


class ApiKeyRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An API key row joined with its owner."""

    id: int
    prefix: str
    name: str
    role: Role
    key_hash: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    username: str
    user_role: Role
    user_active: bool

    def info(self) -> ApiKeyInfo:
        """The listable view of this key."""
        return ApiKeyInfo(
            prefix=self.prefix,
            name=self.name,
            role=self.role,
            username=self.username,
            created_at=self.created_at,
            last_used_at=self.last_used_at,
            expires_at=self.expires_at,
            revoked_at=self.revoked_at,
        )


def _record(row: dict[str, Any]) -> ApiKeyRecord:
    return msgspec.convert(row, ApiKeyRecord)


class ApiKeyRepository:
    """Rows of the ``api_keys`` table."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def create(
        self, user_id: int, name: str, prefix: str, key_hash: str, role: Role, expires_at: dt.datetime | None
    ) -> ApiKeyRecord:
        """Store a new key's hash."""
        sql = """INSERT INTO api_keys (user_id, name, prefix, key_hash, role, expires_at)
                 VALUES (%s, %s, %s, %s, %s, %s) RETURNING prefix"""
        async with self.pool.connection() as conn:
            await conn.execute(sql, (user_id, name, prefix, key_hash, role, expires_at))
        found = await self.by_prefix(prefix)
        assert found is not None
        return found

    async def by_prefix(self, prefix: str) -> ApiKeyRecord | None:
        """The key with ``prefix``, if any."""
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(f"SELECT {_COLUMNS} {_FROM} WHERE k.prefix = %s", (prefix,))
            row = await cur.fetchone()
        return _record(row) if row else None

    async def by_hash(self, key_hash: str) -> ApiKeyRecord | None:
        """The key whose hash is ``key_hash``, if any (keys are random enough to be found by hash)."""
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(f"SELECT {_COLUMNS} {_FROM} WHERE k.key_hash = %s", (key_hash,))
            row = await cur.fetchone()
        return _record(row) if row else None

    async def revoke_named(self, user_id: int, name: str) -> None:
        """Revoke every live key of a user that bears ``name`` (used for the local CLI's key)."""
        sql = "UPDATE api_keys SET revoked_at = now() WHERE user_id = %s AND name = %s AND revoked_at IS NULL"
        async with self.pool.connection() as conn:
            await conn.execute(sql, (user_id, name))

    async def list(self, username: str | None = None) -> list[ApiKeyRecord]:
        """Keys of ``username``, or every key; newest first."""
        sql = (
            f"SELECT {_COLUMNS} {_FROM} WHERE (%s::text IS NULL OR u.username = %s)"
            " ORDER BY k.created_at DESC, k.id"
        )
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, (username, username))
            return [_record(row) for row in await cur.fetchall()]

    async def revoke(self, prefix: str, username: str | None = None) -> None:
        """Revoke the key ``prefix`` (only among ``username``'s keys when given).

        Raises:
            NotFound: no such (unrevoked) key.
        """
        sql = """UPDATE api_keys k SET revoked_at = now() FROM users u
                 WHERE u.id = k.user_id AND k.prefix = %s AND k.revoked_at IS NULL
                   AND (%s::text IS NULL OR u.username = %s)"""
        async with self.pool.connection() as conn:
            cur = await conn.execute(sql, (prefix, username, username))
            if cur.rowcount == 0:
                raise NotFound(f"no active API key {prefix!r}")

    async def touch(self, key_id: int) -> None:
        """Record a use, at most once a minute per key."""
        sql = """UPDATE api_keys SET last_used_at = now()
                 WHERE id = %s AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')"""
        async with self.pool.connection() as conn:
            await conn.execute(sql, (key_id,))
