"""What indicator outputs are stored, over which series version (``indicator_outputs``).

The values live in ClickHouse (:mod:`warehouse.clickhouse.indicator_values`); a row here says
they are complete for the series as it was at ``version``. It is written after the values, so a
crash in between leaves values that no row vouches for, which are computed again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import msgspec
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from schemas.indicators import OutputKey

_COLUMNS = "symbol, series, adjusted, session, width, spec"


class StoredVersion(msgspec.Struct, frozen=True, kw_only=True):
    """A series version as recorded: the token and its per-month change counts."""

    token: str
    epoch: str
    everywhere: int = 0
    months: dict[int, int] = msgspec.field(default_factory=dict)


class StoredOutput(msgspec.Struct, frozen=True, kw_only=True):
    """One indicator's stored outputs over one series."""

    key: OutputKey
    outputs: list[str]
    version: StoredVersion
    rows: int
    first_ts: int | None
    last_ts: int | None
    """Start of the last bucket stored (epoch ms)."""
    stable_from: int | None
    computed_at: dt.datetime
    duration_ms: float


def _key_params(key: OutputKey) -> dict[str, Any]:
    return msgspec.structs.asdict(key)


_KEY_FIELDS = ("symbol", "series", "adjusted", "session", "width", "spec")


def _row(row: dict[str, Any]) -> StoredOutput:
    key = msgspec.convert({name: row[name] for name in _KEY_FIELDS}, OutputKey)
    rest = {name: value for name, value in row.items() if name not in _KEY_FIELDS}
    return msgspec.convert({**rest, "key": key}, StoredOutput, strict=False)


class IndicatorOutputRepository:
    """Rows of ``indicator_outputs``."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def get(self, key: OutputKey) -> StoredOutput | None:
        """The record of ``key``'s stored outputs, or None when none are stored."""
        sql = (
            "SELECT * FROM indicator_outputs WHERE (symbol, series, adjusted, session, width, spec)"
            " = (%(symbol)s, %(series)s, %(adjusted)s, %(session)s, %(width)s, %(spec)s)"
        )
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, _key_params(key))
            row = await cur.fetchone()
        return None if row is None else _row(row)

    async def get_many(self, keys: Sequence[OutputKey]) -> dict[OutputKey, StoredOutput]:
        """The records of ``keys`` that exist (one round trip; the keys differ only in their spec)."""
        if not keys:
            return {}
        first = keys[0]
        if any(msgspec.structs.replace(key, spec=first.spec) != first for key in keys):
            each = {key: await self.get(key) for key in keys}
            return {key: stored for key, stored in each.items() if stored is not None}
        sql = (
            "SELECT * FROM indicator_outputs WHERE (symbol, series, adjusted, session, width)"
            " = (%(symbol)s, %(series)s, %(adjusted)s, %(session)s, %(width)s) AND spec = ANY(%(specs)s)"
        )
        params = _key_params(first) | {"specs": [key.spec for key in keys]}
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, params)
            rows = await cur.fetchall()
        return {stored.key: stored for stored in map(_row, rows)}

    async def for_series(self, symbol: str, series: str, adjusted: bool) -> list[StoredOutput]:
        """Every stored output over one series."""
        sql = (
            "SELECT * FROM indicator_outputs WHERE symbol = %(symbol)s AND series = %(series)s"
            " AND adjusted = %(adjusted)s ORDER BY session, width, spec"
        )
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, {"symbol": symbol, "series": series, "adjusted": adjusted})
            rows = await cur.fetchall()
        return [_row(row) for row in rows]

    async def save(self, stored: StoredOutput) -> None:
        """Record ``stored`` (replacing the record of its key)."""
        sql = f"""
            INSERT INTO indicator_outputs ({_COLUMNS}, outputs, version, rows, first_ts, last_ts,
                                           stable_from, computed_at, duration_ms)
            VALUES (%(symbol)s, %(series)s, %(adjusted)s, %(session)s, %(width)s, %(spec)s,
                    %(outputs)s, %(version)s::jsonb, %(rows)s, %(first_ts)s, %(last_ts)s,
                    %(stable_from)s, %(computed_at)s, %(duration_ms)s)
            ON CONFLICT ({_COLUMNS}) DO UPDATE SET
                outputs = EXCLUDED.outputs, version = EXCLUDED.version, rows = EXCLUDED.rows,
                first_ts = EXCLUDED.first_ts, last_ts = EXCLUDED.last_ts,
                stable_from = EXCLUDED.stable_from, computed_at = EXCLUDED.computed_at,
                duration_ms = EXCLUDED.duration_ms
        """
        params = _key_params(stored.key) | {
            "outputs": stored.outputs,
            "version": msgspec.json.encode(stored.version).decode(),
            "rows": stored.rows,
            "first_ts": stored.first_ts,
            "last_ts": stored.last_ts,
            "stable_from": stored.stable_from,
            "computed_at": stored.computed_at,
            "duration_ms": stored.duration_ms,
        }
        async with self.pool.connection() as conn:
            await conn.execute(sql, params)

    async def delete_series(self, symbol: str, series: str, adjusted: bool) -> int:
        """Forget every stored output over one series; return how many."""
        sql = (
            "DELETE FROM indicator_outputs WHERE symbol = %(symbol)s AND series = %(series)s"
            " AND adjusted = %(adjusted)s"
        )
        async with self.pool.connection() as conn:
            cur = await conn.execute(sql, {"symbol": symbol, "series": series, "adjusted": adjusted})
            return cur.rowcount
