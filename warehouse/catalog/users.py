"""Users: who may sign in, with which role."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from psycopg import errors
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from schemas.auth import Role, UserInfo
from warehouse.errors import Conflict, NotFound


class UserRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A user row, including what only the auth code may see."""

    id: int
    username: str
    password_hash: str | None
    role: Role
    is_active: bool
    created_at: dt.datetime

    def info(self) -> UserInfo:
        """The public view of this user."""
        return UserInfo(
            username=self.username, role=self.role, is_active=self.is_active, created_at=self.created_at
        )


_COLUMNS = "id, username, password_hash, role, is_active, created_at"


def _record(row: dict[str, Any]) -> UserRecord:
    return msgspec.convert(row, UserRecord)


class UserRepository:
    """Rows of the ``users`` table."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def create(self, username: str, password_hash: str | None, role: Role) -> UserRecord:
        """Add a user.

        Raises:
            Conflict: the username is taken.
        """
        sql = f"INSERT INTO users (username, password_hash, role) VALUES (%s, %s, %s) RETURNING {_COLUMNS}"
        try:
            async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(sql, (username, password_hash, role))
                row = await cur.fetchone()
        except errors.UniqueViolation:
            raise Conflict(f"user {username!r} exists already") from None
        assert row is not None
        return _record(row)

    async def by_name(self, username: str) -> UserRecord | None:
        """The user called ``username``, if any."""
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(f"SELECT {_COLUMNS} FROM users WHERE username = %s", (username,))
            row = await cur.fetchone()
        return _record(row) if row else None

    async def by_id(self, user_id: int) -> UserRecord | None:
        """The user with ``user_id``, if any."""
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(f"SELECT {_COLUMNS} FROM users WHERE id = %s", (user_id,))
            row = await cur.fetchone()
        return _record(row) if row else None

    async def get(self, username: str) -> UserRecord:
        """The user called ``username``.

        Raises:
            NotFound: there is none.
        """
        user = await self.by_name(username)
        if user is None:
            raise NotFound(f"no user {username!r}")
        return user

    async def all(self) -> list[UserRecord]:
        """Every user, by name."""
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(f"SELECT {_COLUMNS} FROM users ORDER BY username")
            return [_record(row) for row in await cur.fetchall()]

    async def update(
        self,
        username: str,
        *,
        role: Role | None = None,
        password_hash: str | None = None,
        is_active: bool | None = None,
    ) -> UserRecord:
        """Change the given fields of a user.

        Raises:
            NotFound: there is no such user.
        """
        sql = f"""UPDATE users SET role = coalesce(%s, role), password_hash = coalesce(%s, password_hash),
                  is_active = coalesce(%s, is_active), updated_at = now()
                  WHERE username = %s RETURNING {_COLUMNS}"""
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, (role, password_hash, is_active, username))
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"no user {username!r}")
        return _record(row)

    async def count_admins(self) -> int:
        """How many active admins exist."""
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT count(*) FROM users WHERE role = 'admin' AND is_active")
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def first_admin(self) -> UserRecord | None:
        """The oldest active admin."""
        sql = f"SELECT {_COLUMNS} FROM users WHERE role = 'admin' AND is_active ORDER BY id LIMIT 1"
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql)
            row = await cur.fetchone()
        return _record(row) if row else None
