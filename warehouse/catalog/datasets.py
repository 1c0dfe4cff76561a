"""Datasets: named (symbol, bar width, range, adjustment) views over the bar store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

import msgspec
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from schemas.datasets import Dataset, DateRange
from warehouse.catalog.quality import decode_summary
from warehouse.errors import NotFound

_COLUMNS: Final = (
    "table_name, symbol, timespan, multiplier, adjusted, source, start_date, end_date, record_count,"
    " first_bar, last_bar, created_at, updated_at, last_accessed,"
    " (SELECT q.summary::text FROM dataset_quality q WHERE q.table_name = datasets.table_name) AS quality"
)


class DatasetRecord(msgspec.Struct, frozen=True, kw_only=True):
    """What a fetch registers: the dataset's identity and what is stored for it."""

    table: str
    symbol: str
    timespan: str
    multiplier: int
    adjusted: bool
    source: str
    start_date: dt.date
    end_date: dt.date
    record_count: int
    first_bar: dt.datetime | None
    last_bar: dt.datetime | None


def _to_dataset(row: dict[str, Any]) -> Dataset:
    return msgspec.convert(
        {
            "table": row["table_name"],
            "symbol": row["symbol"],
            "timespan": row["timespan"],
            "multiplier": row["multiplier"],
            "adjusted": row["adjusted"],
            "source": row["source"],
            "total_records": row["record_count"],
            "date_range": DateRange(from_=row["start_date"], to=row["end_date"]),
            "first_bar": row["first_bar"],
            "last_bar": row["last_bar"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
            "last_accessed": row["last_accessed"],
            "quality": decode_summary(row["quality"]),
        },
        Dataset,
        from_attributes=True,
    )


class DatasetRepository:
    """Rows of the ``datasets`` table."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def upsert(self, record: DatasetRecord) -> Dataset:
        """Register ``record``, or refresh the counts and bounds of the dataset of that name."""
        sql = f"""
            INSERT INTO datasets (table_name, symbol, timespan, multiplier, adjusted, source, start_date,
                                  end_date, record_count, first_bar, last_bar)
            VALUES (%(table)s, %(symbol)s, %(timespan)s, %(multiplier)s, %(adjusted)s, %(source)s,
                    %(start_date)s, %(end_date)s, %(record_count)s, %(first_bar)s, %(last_bar)s)
            ON CONFLICT (table_name) DO UPDATE SET
                record_count = EXCLUDED.record_count, first_bar = EXCLUDED.first_bar,
                last_bar = EXCLUDED.last_bar, source = EXCLUDED.source, updated_at = now()
            RETURNING {_COLUMNS}
        """
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, msgspec.structs.asdict(record))
            row = await cur.fetchone()
        assert row is not None
        return _to_dataset(row)

    async def upsert_many(self, records: Sequence[DatasetRecord]) -> list[Dataset]:
        """:meth:`upsert` of many records in one statement (a fetch of hundreds of tickers)."""
        if not records:
            return []
        fields = [
            ("table", "text"),
            ("symbol", "text"),
            ("timespan", "text"),
            ("multiplier", "int4"),
            ("adjusted", "bool"),
            ("source", "text"),
            ("start_date", "date"),
            ("end_date", "date"),
            ("record_count", "int8"),
            ("first_bar", "timestamptz"),
            ("last_bar", "timestamptz"),
        ]
        arrays = ", ".join(f"%({name})s::{kind}[]" for name, kind in fields)
        sql = f"""
            INSERT INTO datasets (table_name, symbol, timespan, multiplier, adjusted, source, start_date,
                                  end_date, record_count, first_bar, last_bar)
            SELECT * FROM unnest({arrays})
            ON CONFLICT (table_name) DO UPDATE SET
                record_count = EXCLUDED.record_count, first_bar = EXCLUDED.first_bar,
                last_bar = EXCLUDED.last_bar, source = EXCLUDED.source, updated_at = now()
            RETURNING {_COLUMNS}
        """
        params = {name: [getattr(record, name) for record in records] for name, _ in fields}
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, params)
            return [_to_dataset(row) for row in await cur.fetchall()]

    async def extend(self, record: DatasetRecord) -> Dataset:
        """Register ``record``, or widen the dataset of that name to its range and take its counts.

        Live datasets grow: unlike :meth:`upsert`, the stored range becomes the union of the old one
        and ``record``'s.
        """
        sql = f"""
            INSERT INTO datasets (table_name, symbol, timespan, multiplier, adjusted, source, start_date,
                                  end_date, record_count, first_bar, last_bar)
            VALUES (%(table)s, %(symbol)s, %(timespan)s, %(multiplier)s, %(adjusted)s, %(source)s,
                    %(start_date)s, %(end_date)s, %(record_count)s, %(first_bar)s, %(last_bar)s)
            ON CONFLICT (table_name) DO UPDATE SET
                start_date = LEAST(datasets.start_date, EXCLUDED.start_date),
                end_date = GREATEST(datasets.end_date, EXCLUDED.end_date),
                record_count = EXCLUDED.record_count, first_bar = EXCLUDED.first_bar,
                last_bar = EXCLUDED.last_bar, updated_at = now()
            RETURNING {_COLUMNS}
        """
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, msgspec.structs.asdict(record))
            row = await cur.fetchone()
        assert row is not None
        return _to_dataset(row)

    async def for_symbols(self, symbols: Sequence[str], adjusted: bool) -> list[Dataset]:
        """Datasets of any of ``symbols`` with adjustment ``adjusted`` (one query for many symbols)."""
        sql = f"SELECT {_COLUMNS} FROM datasets WHERE symbol = ANY(%s) AND adjusted = %s ORDER BY symbol"
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, (list(symbols), adjusted))
            return [_to_dataset(row) for row in await cur.fetchall()]

    async def all(self) -> list[Dataset]:
        """Every dataset, by symbol then bar width then start."""
        sql = f"SELECT {_COLUMNS} FROM datasets ORDER BY symbol, timespan, multiplier, start_date, table_name"
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql)
            return [_to_dataset(row) for row in await cur.fetchall()]

    async def get(self, table: str) -> Dataset:
        """The dataset named ``table``.

        Raises:
            NotFound: there is none.
        """
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(f"SELECT {_COLUMNS} FROM datasets WHERE table_name = %s", (table,))
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"no dataset named {table!r}")
        return _to_dataset(row)

    async def touch(self, table: str) -> None:
        """Record that ``table`` was just read (at most once a minute: charts read on every pan)."""
        sql = """UPDATE datasets SET last_accessed = now() WHERE table_name = %s
                 AND (last_accessed IS NULL OR last_accessed < now() - interval '1 minute')"""
        async with self.pool.connection() as conn:
            await conn.execute(sql, (table,))

    async def for_symbol(self, symbol: str, adjusted: bool | None = None) -> list[Dataset]:
        """Datasets of ``symbol`` (of one adjustment when ``adjusted`` is given)."""
        sql = f"SELECT {_COLUMNS} FROM datasets WHERE symbol = %s AND (%s::boolean IS NULL OR adjusted = %s)"
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql + " ORDER BY start_date", (symbol, adjusted, adjusted))
            return [_to_dataset(row) for row in await cur.fetchall()]

    async def delete(self, table: str) -> None:
        """Remove the row of ``table``.

        Raises:
            NotFound: there is none.
        """
        async with self.pool.connection() as conn:
            cur = await conn.execute("DELETE FROM datasets WHERE table_name = %s", (table,))
            if cur.rowcount == 0:
                raise NotFound(f"no dataset named {table!r}")

    async def count(self) -> int:
        """How many datasets exist."""
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT count(*) FROM datasets")
            row = await cur.fetchone()
        return int(row[0]) if row else 0
