"""Browser sessions (refresh tokens, stored hashed) and one-time login links."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from schemas.auth import Role


class SessionRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A live session and its user's current standing."""

    id: uuid.UUID
    user_id: int
    username: str
    role: Role
    refresh_hash: str
    expires_at: dt.datetime


_LIVE = """SELECT s.id, s.user_id, u.username, u.role, s.refresh_hash, s.expires_at
           FROM sessions s JOIN users u ON u.id = s.user_id
           WHERE s.revoked_at IS NULL AND s.expires_at > now() AND u.is_active"""


_EXPIRE_LINKS = """UPDATE login_tokens SET expires_at = now()
                   WHERE user_id = %s AND used_at IS NULL AND expires_at > now()"""
"""Revoking a link ends its validity now (the row stays, unused)."""


def _record(row: dict[str, Any]) -> SessionRecord:
    return msgspec.convert(row, SessionRecord)


class SessionRepository:
    """Rows of ``sessions`` and ``login_tokens``."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def create(
        self, user_id: int, refresh_hash: str, expires_at: dt.datetime, ip: str | None, user_agent: str | None
    ) -> uuid.UUID:
        """Open a session; return its id."""
        session_id = uuid.uuid4()
        sql = """INSERT INTO sessions (id, user_id, refresh_hash, expires_at, ip, user_agent)
                 VALUES (%s, %s, %s, %s, %s, %s)"""
        async with self.pool.connection() as conn:
            await conn.execute(
                sql, (session_id, user_id, refresh_hash, expires_at, ip, (user_agent or "")[:300])
            )
        return session_id

    async def live(self, session_id: uuid.UUID) -> SessionRecord | None:
        """The session, if it is neither revoked, expired, nor its user deactivated."""
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(_LIVE + " AND s.id = %s", (session_id,))
            row = await cur.fetchone()
        return _record(row) if row else None

    async def rotate(self, session_id: uuid.UUID, old_hash: str, new_hash: str) -> bool:
        """Swap the refresh token, only if ``old_hash`` is still current (a replayed token fails)."""
        sql = """UPDATE sessions SET refresh_hash = %s
                 WHERE id = %s AND refresh_hash = %s AND revoked_at IS NULL AND expires_at > now()"""
        async with self.pool.connection() as conn:
            cur = await conn.execute(sql, (new_hash, session_id, old_hash))
            return cur.rowcount == 1

    async def revoke(self, session_id: uuid.UUID) -> None:
        """End a session."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE sessions SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL", (session_id,)
            )

    async def revoke_user(self, user_id: int) -> None:
        """End every session of a user (password change, deactivation)."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE sessions SET revoked_at = now() WHERE user_id = %s AND revoked_at IS NULL", (user_id,)
            )

    async def add_login_token(self, token_hash: str, user_id: int, expires_at: dt.datetime) -> None:
        """Store a one-time login link's token hash; the user's earlier unused links stop working."""
        sql = "INSERT INTO login_tokens (token_hash, user_id, expires_at) VALUES (%s, %s, %s)"
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(_EXPIRE_LINKS, (user_id,))
            await conn.execute(sql, (token_hash, user_id, expires_at))

    async def revoke_login_tokens(self, user_id: int) -> None:
        """Make every unused login link of a user stop working."""
        async with self.pool.connection() as conn:
            await conn.execute(_EXPIRE_LINKS, (user_id,))

    async def use_login_token(self, token_hash: str) -> int | None:
        """Spend a one-time token; return its user id, or None when unknown, used or expired."""
        sql = """UPDATE login_tokens SET used_at = now()
                 WHERE token_hash = %s AND used_at IS NULL AND expires_at > now() RETURNING user_id"""
        async with self.pool.connection() as conn:
            cur = await conn.execute(sql, (token_hash,))
            row = await cur.fetchone()
        return int(row[0]) if row else None
