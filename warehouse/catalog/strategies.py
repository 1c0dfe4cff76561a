"""Stored strategies and every version of their text (``strategies``, ``strategy_versions``).

A strategy row holds the latest version; each change of its code, name or description adds a
``strategy_versions`` row in the same transaction, so a run can always name the text it ran.
Names are unique per author.
"""

from __future__ import annotations

from typing import Any

import msgspec
from psycopg import errors
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from schemas.strategies import ParamSpec, Strategy, StrategyVersion
from warehouse.errors import Conflict, NotFound

_COLUMNS = (
    "id, name, description, code, parameters, version, author, performance_metrics, last_run_id,"
    " created_at, updated_at"
)


def _strategy(row: dict[str, Any]) -> Strategy:
    return msgspec.convert(row, Strategy, strict=False)


def _parameters(parameters: list[ParamSpec]) -> Jsonb:
    return Jsonb(msgspec.to_builtins(parameters))


class StrategyRepository:
    """Rows of ``strategies`` and ``strategy_versions``."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def create(
        self, *, name: str, description: str, code: str, parameters: list[ParamSpec], author: str
    ) -> Strategy:
        """Store a new strategy at version 1.

        Raises:
            Conflict: ``author`` has a strategy called ``name`` already.
        """
        sql = (
            "INSERT INTO strategies (name, description, code, parameters, author)"
            f" VALUES (%s, %s, %s, %s, %s) RETURNING {_COLUMNS}"
        )
        try:
            async with self.pool.connection() as conn, conn.transaction():
                async with conn.cursor(row_factory=dict_row) as cur:
                    await cur.execute(sql, (name, description, code, _parameters(parameters), author))
                    row = await cur.fetchone()
                    assert row is not None
                    await self._add_version(cur, row)
        except errors.UniqueViolation:
            raise Conflict(f"you have a strategy called {name!r} already") from None
        return _strategy(row)

    async def update(
        self,
        strategy_id: int,
        *,
        name: str | None,
        description: str | None,
        code: str | None,
        parameters: list[ParamSpec] | None,
        author: str,
    ) -> Strategy:
        """Change a strategy; a new version when anything changes.

        Raises:
            NotFound: no such strategy.
            Conflict: its author has another strategy called ``name``.
        """
        current = await self.get(strategy_id)
        changes = {
            "name": name if name is not None and name != current.name else None,
            "description": description
            if description is not None and description != current.description
            else None,
            "code": code if code is not None and code != current.code else None,
        }
        if all(value is None for value in changes.values()):
            return current
        sql = (
            "UPDATE strategies SET name = COALESCE(%(name)s, name),"
            " description = COALESCE(%(description)s, description), code = COALESCE(%(code)s, code),"
            " parameters = COALESCE(%(parameters)s, parameters), version = version + 1, updated_at = now()"
            f" WHERE id = %(id)s AND version = %(version)s RETURNING {_COLUMNS}"
        )
        params = changes | {
            "parameters": _parameters(parameters) if parameters is not None and changes["code"] else None,
            "id": strategy_id,
            "version": current.version,
        }
        try:
            async with self.pool.connection() as conn, conn.transaction():
                async with conn.cursor(row_factory=dict_row) as cur:
                    await cur.execute(sql, params)
                    row = await cur.fetchone()
                    if row is None:
                        raise Conflict(f"strategy {strategy_id} changed meanwhile: read it again")
                    await self._add_version(cur, row, author=author)
        except errors.UniqueViolation:
            raise Conflict(f"{current.author} has a strategy called {name!r} already") from None
        return _strategy(row)

    @staticmethod
    async def _add_version(cur: Any, row: dict[str, Any], *, author: str | None = None) -> None:
        await cur.execute(
            "INSERT INTO strategy_versions"
            " (strategy_id, version, name, description, code, parameters, author)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                row["id"],
                row["version"],
                row["name"],
                row["description"],
                row["code"],
                Jsonb(row["parameters"]),
                author or row["author"],
            ),
        )

    async def get(self, strategy_id: int) -> Strategy:
        """The strategy with ``strategy_id``.

        Raises:
            NotFound: no such strategy.
        """
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(f"SELECT {_COLUMNS} FROM strategies WHERE id = %s", (strategy_id,))
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"no strategy {strategy_id}")
        return _strategy(row)

    async def by_name(self, name: str, author: str) -> Strategy:
        """``author``'s strategy called ``name`` (or, when they have none, the only one of that name).

        Raises:
            NotFound: no such strategy, or several authors have one of that name and none is ``author``.
        """
        sql = f"SELECT {_COLUMNS} FROM strategies WHERE name = %s ORDER BY (author = %s) DESC, id LIMIT 2"
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, (name, author))
            rows = await cur.fetchall()
        if not rows:
            raise NotFound(f"no strategy called {name!r}")
        if rows[0]["author"] != author and len(rows) > 1:
            raise NotFound(f"several authors have a strategy called {name!r}: name it by id")
        return _strategy(rows[0])

    async def all(self) -> list[Strategy]:
        """Every strategy, newest change first."""
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(f"SELECT {_COLUMNS} FROM strategies ORDER BY updated_at DESC, id DESC")
            rows = await cur.fetchall()
        return [_strategy(row) for row in rows]

    async def version(self, strategy_id: int, version: int) -> StrategyVersion:
        """One version of a strategy's text.

        Raises:
            NotFound: no such strategy or version.
        """
        sql = (
            "SELECT version, name, description, code, created_at, author FROM strategy_versions"
            " WHERE strategy_id = %s AND version = %s"
        )
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, (strategy_id, version))
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"strategy {strategy_id} has no version {version}")
        return msgspec.convert(row, StrategyVersion, strict=False)

    async def versions(self, strategy_id: int) -> list[StrategyVersion]:
        """Every version of a strategy, newest first.

        Raises:
            NotFound: no such strategy.
        """
        await self.get(strategy_id)
        sql = (
            "SELECT version, name, description, code, created_at, author FROM strategy_versions"
            " WHERE strategy_id = %s ORDER BY version DESC"
        )
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, (strategy_id,))
            rows = await cur.fetchall()
        return [msgspec.convert(row, StrategyVersion, strict=False) for row in rows]

    async def delete(self, strategy_id: int) -> None:
        """Delete a strategy with its versions and runs.

        Raises:
            NotFound: no such strategy.
        """
        async with self.pool.connection() as conn:
            cursor = await conn.execute("DELETE FROM strategies WHERE id = %s", (strategy_id,))
        if cursor.rowcount == 0:
            raise NotFound(f"no strategy {strategy_id}")

    async def record_metrics(self, strategy_id: int, run_id: str, metrics: dict[str, float | None]) -> None:
        """Copy a complete backtest's metrics into the strategy's ``performance_metrics``."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE strategies SET performance_metrics = %s, last_run_id = %s WHERE id = %s",
                (Jsonb(metrics), run_id, strategy_id),
            )
