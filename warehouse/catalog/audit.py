"""The audit log: every write and every auth event, who, what, when, from where, outcome."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from schemas.auth import ActorKind, AuditEntry, Outcome

_COLUMNS = "at, actor, actor_kind, action, target, outcome, status, ip, detail"


class AuditRepository:
    """Rows of ``audit_log`` (append-only)."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def record(
        self,
        *,
        actor: str | None,
        actor_kind: ActorKind,
        action: str,
        outcome: Outcome,
        target: str | None = None,
        status: int | None = None,
        ip: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append one entry."""
        sql = f"INSERT INTO audit_log ({_COLUMNS}) VALUES (now(), %s, %s, %s, %s, %s, %s, %s, %s)"
        async with self.pool.connection() as conn:
            await conn.execute(
                sql, (actor, actor_kind, action, target, outcome, status, ip, Jsonb(detail or {}))
            )

    async def search(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        outcome: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int = 200,
    ) -> list[AuditEntry]:
        """Entries matching every given filter (``action`` matches as a prefix), newest first."""
        sql = f"""SELECT {_COLUMNS} FROM audit_log
                  WHERE (%(actor)s::text IS NULL OR actor = %(actor)s)
                    AND (%(action)s::text IS NULL OR starts_with(action, %(action)s))
                    AND (%(outcome)s::text IS NULL OR outcome = %(outcome)s)
                    AND (%(since)s::timestamptz IS NULL OR at >= %(since)s)
                    AND (%(until)s::timestamptz IS NULL OR at <= %(until)s)
                  ORDER BY at DESC, id DESC LIMIT %(limit)s"""
        params = {
            "actor": actor,
            "action": action,
            "outcome": outcome,
            "since": since,
            "until": until,
            "limit": limit,
        }
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, params)
            return [msgspec.convert(row, AuditEntry) for row in await cur.fetchall()]
