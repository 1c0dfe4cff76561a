"""The seed's design, rebuilt as a baseline: one Postgres table per symbol, bars served as JSON.

The original app kept each fetched (symbol, range) in its own PostgreSQL table (``timestamp``,
prices as ``DECIMAL(10,2)``, ``volume BIGINT`` …, a btree index on the timestamp) and answered a
chart with a Python web handler that ran SQL, fetched the rows as dicts and returned them as a
JSON list of objects encoded by the stdlib ``json``. This module builds exactly that in the
runtime's Postgres: :func:`load` creates and fills ``stock_<sym>`` with ``COPY``, and
:func:`create_seed_app` is the handler, as a small Litestar app to run under a second uvicorn.

The aggregation is the seed's natural one: ``date_trunc``/``date_bin`` of the naive UTC
timestamp into the bucket width K2 Quant chose for the same request (K2 Quant aligns days and
weeks to New York time; doing that in Postgres, ``AT TIME ZONE``, costs the seed ~50 % more on a
whole history, so it is spared: weeks and minute buckets come out the same, UTC days do not),
first and last price by ``array_agg(... ORDER BY timestamp)`` (one sort order for both, so
Postgres sorts once), ``max``/``min``/``sum`` for the rest. Postgres keeps its default
settings (``work_mem`` 4 MB, so a whole-history sort spills to disk, as it did for the seed).
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import time
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from litestar import Litestar, Response, post
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

COPY_BLOCK_ROWS: Final = 100_000

_TRUNC: Final = {"1d": "day", "1w": "week", "1M": "month", "3M": "quarter", "12M": "year"}
_UNITS: Final = {"m": "minutes", "h": "hours"}


def table_name(symbol: str) -> str:
    """The seed's table for ``symbol`` (one table per symbol and range)."""
    return f"stock_{symbol.lower()}"


def bucket_expr(code: str) -> sql.Composable:
    """SQL for the start of the ``code``-wide bucket of ``timestamp`` (UTC, as the seed stored it)."""
    if code in _TRUNC:
        return sql.SQL("date_trunc({}, timestamp)").format(sql.Literal(_TRUNC[code]))
    count, unit = int(code[:-1]), code[-1]
    if unit not in _UNITS:
        raise ValueError(f"no seed bucket for {code!r}")
    return sql.SQL("date_bin({}::interval, timestamp, TIMESTAMP '2000-01-03')").format(
        sql.Literal(f"{count} {_UNITS[unit]}")
    )


def chart_sql(symbol: str, code: str) -> sql.Composed:
    """The seed's chart query: OHLCV of ``symbol``'s table in ``[start, end]`` per ``code`` bucket."""
    if code == "1m":
        return sql.SQL(
            "SELECT timestamp, open, high, low, close, volume FROM {table}"
            " WHERE timestamp >= %(start)s AND timestamp <= %(end)s ORDER BY timestamp"
        ).format(table=sql.Identifier(table_name(symbol)))
    return sql.SQL(
        "SELECT {bucket} AS timestamp,"
        " (array_agg(open ORDER BY timestamp))[1] AS open, max(high) AS high, min(low) AS low,"
        " (array_agg(close ORDER BY timestamp))[count(*)] AS close, sum(volume) AS volume"
        " FROM {table} WHERE timestamp >= %(start)s AND timestamp <= %(end)s"
        " GROUP BY 1 ORDER BY 1"
    ).format(bucket=bucket_expr(code), table=sql.Identifier(table_name(symbol)))


async def load(pool: AsyncConnectionPool, symbol: str, bars: pa.Table) -> float:
    """Create ``stock_<symbol>`` and COPY ``bars`` into it; return the seconds it took."""
    table = sql.Identifier(table_name(symbol))
    columns = pa.table(
        {
            # Naive UTC timestamps, as the seed stored them.
            "timestamp": pc.strftime(bars.column("ts"), format="%Y-%m-%d %H:%M:%S"),
            "open": bars.column("open"),
            "high": bars.column("high"),
            "low": bars.column("low"),
            "close": bars.column("close"),
            "volume": pc.cast(pc.round(bars.column("volume")), pa.int64()),
            "vwap": bars.column("vwap"),
            "transactions": bars.column("transactions"),
        }
    )
    started = time.perf_counter()
    async with pool.connection() as conn:
        await conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
        await conn.execute(
            sql.SQL(
                "CREATE TABLE {} (id SERIAL PRIMARY KEY, timestamp TIMESTAMP NOT NULL,"
                " open DECIMAL(10,2), high DECIMAL(10,2), low DECIMAL(10,2), close DECIMAL(10,2),"
                " volume BIGINT, vwap DECIMAL(10,2), transactions INTEGER)"
            ).format(table)
        )
        copy = sql.SQL(
            "COPY {} (timestamp, open, high, low, close, volume, vwap, transactions) FROM STDIN (FORMAT csv)"
        ).format(table)
        async with conn.cursor() as cursor, cursor.copy(copy) as sink:
            for offset in range(0, columns.num_rows, COPY_BLOCK_ROWS):
                buffer = io.BytesIO()
                pacsv.write_csv(
                    columns.slice(offset, COPY_BLOCK_ROWS),
                    buffer,
                    pacsv.WriteOptions(include_header=False, quoting_style="none"),
                )
                await sink.write(buffer.getvalue())
        await conn.execute(
            sql.SQL("CREATE INDEX {} ON {} (timestamp)").format(
                sql.Identifier(f"{table_name(symbol)}_timestamp_idx"), table
            )
        )
        await conn.execute(sql.SQL("ANALYZE {}").format(table))
    return time.perf_counter() - started


async def query(
    pool: AsyncConnectionPool, symbol: str, code: str, start: dt.datetime, end: dt.datetime
) -> int:
    """Run the seed's chart query alone (no JSON, no HTTP); return how many rows it gave."""
    async with pool.connection() as conn, conn.cursor() as cursor:
        await cursor.execute(chart_sql(symbol, code), {"start": _naive(start), "end": _naive(end)})
        return len(await cursor.fetchall())


def create_seed_app(pool: AsyncConnectionPool) -> Litestar:
    """The seed's chart handler: SQL → rows as dicts → ``json.dumps`` of a list of objects."""

    @post("/api/v1/stocks/chart-data", status_code=200)
    async def chart_data(data: dict[str, Any]) -> Response[bytes]:
        start = dt.datetime.fromisoformat(data["from"])
        end = dt.datetime.fromisoformat(data["to"])
        async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cursor:
            await cursor.execute(
                chart_sql(data["symbol"], data["bucket"]), {"start": _naive(start), "end": _naive(end)}
            )
            rows = await cursor.fetchall()
        body = json.dumps({"data": rows, "count": len(rows)}, default=_json_default)
        return Response(body.encode(), media_type="application/json")

    return Litestar(route_handlers=[chart_data], logging_config=None, debug=False)


def _naive(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value


def _json_default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")
