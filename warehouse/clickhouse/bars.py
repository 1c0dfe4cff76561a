"""The bar store: insert Arrow batches, read chart slices, pages and stats, delete ranges.

Chart slices are searched by :mod:`warehouse.clickhouse.slice_search`; this module runs the
search's stages as ClickHouse queries (over bars, or rollups plus the bars at the window's edges).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from collections.abc import Sequence
from typing import Any, Final

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from clickhouse_connect.driver.client import Client

from schemas.bars import BAR_ARROW_SCHEMA, CHART_SLICE_ARROW_SCHEMA, TS_TYPE, SeriesKey, SliceQuery
from schemas.values import BARS_FROM, BARS_UNTIL, EXCHANGE_TZ, BarWidth, Session
from warehouse.clickhouse.buckets import LADDER, bucket_sql, tiles
from warehouse.clickhouse.client import ClickHouse
from warehouse.clickhouse.ddl import ALL_DDL, BARS, BARS_TABLE, ROLLUPS_TABLE, TABLES, repartition
from warehouse.clickhouse.insert_retries import DEDUPLICATION_WINDOW, block_settings, insert_retrying
from warehouse.clickhouse.rollups import (
    REGULAR_SESSION,
    Rollups,
    cut_points,
    exchange_days,
    rollup_rows_sql,
    rollup_source,
    rollup_widths,
)
from warehouse.clickhouse.slice_search import Slice, search
from warehouse.errors import InvalidQuery
from warehouse.metrics import BARS_INGESTED

QUERY_TIME_BUDGET_S: Final = 15
"""Every bar query stops after this many seconds (``max_execution_time``); one that runs longer
raises :class:`warehouse.errors.QueryBudgetExceeded` (see :meth:`ClickHouse.run`)."""

SERIES_WHERE: Final = (
    "symbol = {symbol:String} AND timespan = {series:String} AND adjusted = {adjusted:Bool}"
    " AND ts >= fromUnixTimestamp64Milli({start:Int64}, 'UTC')"
    " AND ts <= fromUnixTimestamp64Milli({end:Int64}, 'UTC')"
)
"""The bars of one series in a window. Instants are bound as epoch milliseconds, which hold any
stored bar exactly (a datetime parameter is read as ``DateTime64`` text, which ClickHouse refuses
or wraps outside 1900-2299)."""


BUCKET_SERIES_LIMIT: Final = 20_000_000
"""Most buckets :meth:`BarStore.bucket_series` reads (eighty years of extended-session minutes)."""


def epoch_ms(moment: dt.datetime) -> int:
    """``moment`` (aware) as whole epoch milliseconds.

    >>> epoch_ms(dt.datetime(1969, 12, 31, 23, 59, 59, tzinfo=dt.UTC))
    -1000
    """
    return (moment - _EPOCH) // dt.timedelta(milliseconds=1)


_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_LAST_INSTANT: Final = BARS_UNTIL - dt.timedelta(milliseconds=1)


def series_params(ref: SeriesKey, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    """Bound parameters for :data:`SERIES_WHERE`: the series ``ref`` between ``start`` and ``end``."""
    return {
        "symbol": ref.symbol,
        "series": ref.series,
        "adjusted": ref.adjusted,
        "start": epoch_ms(start),
        "end": epoch_ms(end),
    }


class SeriesStats(msgspec.Struct, frozen=True, kw_only=True):
    """How many distinct bars a series holds in a range, and the first and last of them."""

    count: int
    first: dt.datetime | None
    last: dt.datetime | None


class BarStore:
    """Every bar, in one ReplacingMergeTree table (see :mod:`warehouse.clickhouse.ddl`)."""

    def __init__(self, clickhouse: ClickHouse, *, time_budget_s: float = QUERY_TIME_BUDGET_S) -> None:
        """Read and write bars through ``clickhouse``; every read stops after ``time_budget_s``."""
        self.clickhouse = clickhouse
        self.rollups = Rollups()
        self._settings: dict[str, Any] = {"max_execution_time": time_budget_s}

    async def ensure_schema(self) -> None:
        """Create the tables if they do not exist (and schedule rollups of bars stored before them).

        Embedded, tables stored with an older partition key are moved to the current one first
        (once; chDB lets one process at a time open the data directory). A server's tables keep the
        key they were made with: every key the tables ever had works, and processes sharing a
        server must not move a table at the same time.
        """
        embedded = self.clickhouse.embedded

        def create(client: Client) -> None:
            had_rollups = bool(client.command(f"EXISTS TABLE {ROLLUPS_TABLE}"))
            for table in TABLES if embedded else ():
                repartition(client, table)
            for ddl in ALL_DDL:
                client.command(ddl)
            _keep_block_tokens(client)
            if not had_rollups:
                self.rollups.seed(client)

        await self.clickhouse.run(create, "schema")

    async def ping(self) -> None:
        """Run a trivial query (raises when the store is unusable)."""
        await self.clickhouse.run(lambda client: client.command("SELECT 1"), "ping")

    async def insert(self, ref: SeriesKey, source: str, batch: pa.RecordBatch | pa.Table) -> int:
        """Store bars of one series (columns of ``BAR_ARROW_SCHEMA``); return how many rows were sent."""
        table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        rows = table.num_rows
        if rows == 0:
            return 0
        table = table.select(BAR_ARROW_SCHEMA.names).cast(BAR_ARROW_SCHEMA)
        table = (
            table.append_column("symbol", pa.repeat(ref.symbol, rows))
            .append_column("timespan", pa.repeat(ref.series, rows))
            .append_column("adjusted", pa.repeat(ref.adjusted, rows))
            .append_column("source", pa.repeat(source, rows))
        )
        chunks = _partition_chunks(table, intraday=BarWidth.of(ref.series).is_intraday)

        days = exchange_days(table.column("ts"))

        def insert(client: Client, token: str) -> None:
            for index, chunk in enumerate(chunks):
                client.insert_arrow(BARS_TABLE, chunk, settings=block_settings(token, index))
            self.rollups.mark(client, ref, days)

        await insert_retrying(self.clickhouse, insert, f"{rows} bars of {ref.symbol} {ref.series}")
        BARS_INGESTED.labels(source).inc(int(rows))
        return int(rows)

    async def insert_symbols(self, series: str, adjusted: bool, source: str, table: pa.Table) -> int:
        """Store bars of many symbols of one bar width in one insert; return how many rows were sent.

        ``table`` holds a ``symbol`` column and the columns of ``BAR_ARROW_SCHEMA`` (a whole-market
        day, or pages of several symbols buffered together).
        """
        rows = table.num_rows
        if rows == 0:
            return 0

        def prepare() -> tuple[list[pa.Table], dict[str, list[dt.date]]]:
            symbols = table.column("symbol").cast(pa.string())
            full = (
                table.select(BAR_ARROW_SCHEMA.names)
                .cast(BAR_ARROW_SCHEMA)
                .append_column("symbol", symbols)
                .append_column("timespan", pa.repeat(series, rows))
                .append_column("adjusted", pa.repeat(adjusted, rows))
                .append_column("source", pa.repeat(source, rows))
                .combine_chunks()  # one block, not the many pages it was buffered from
            )
            touched: dict[str, list[dt.date]] = {}
            if rollup_widths(series):  # only intraday series keep rollups to mark
                for symbol in pc.unique(symbols).to_pylist():
                    mine = full.filter(pc.equal(full.column("symbol"), symbol))
                    touched[symbol] = exchange_days(mine.column("ts"))
            return _partition_chunks(full, intraday=BarWidth.of(series).is_intraday), touched

        # Arrow releases the GIL: preparing in a thread leaves the event loop (and chDB's thread) free.
        chunks, touched = await asyncio.to_thread(prepare)

        def insert(client: Client, token: str) -> None:
            for index, chunk in enumerate(chunks):
                client.insert_arrow(BARS_TABLE, chunk, settings=block_settings(token, index))
            for symbol, days in touched.items():
                self.rollups.mark(client, SeriesKey.of(symbol=symbol, series=series, adjusted=adjusted), days)

        await insert_retrying(self.clickhouse, insert, f"{rows} {series} bars")
        BARS_INGESTED.labels(source).inc(int(rows))
        return int(rows)

    async def stats_many(
        self,
        series: str,
        adjusted: bool,
        start: dt.datetime,
        end: dt.datetime,
        symbols: Sequence[str] | None,
        *,
        source: str | None = None,
    ) -> dict[str, SeriesStats]:
        """:meth:`stats` of many symbols in one query (every symbol with bars when ``symbols`` is None).

        With ``source``, only symbols with bars from that source count.
        """
        where = (
            "timespan = {series:String} AND adjusted = {adjusted:Bool}"
            " AND ts >= {start:DateTime64(3, 'UTC')} AND ts <= {end:DateTime64(3, 'UTC')}"
        )
        params: dict[str, Any] = {"series": series, "adjusted": adjusted, "start": start, "end": end}
        if symbols is not None:
            where += " AND symbol IN {symbols:Array(String)}"
            params["symbols"] = list(symbols)
        if source is not None:
            where += " AND source = {source:String}"
            params["source"] = source
        sql = f"SELECT symbol, count(), min(ts), max(ts) FROM {BARS_TABLE} FINAL WHERE {where}"
        sql += " GROUP BY symbol"
        result = await self.clickhouse.run(
            lambda client: client.query(sql, parameters=params, settings=self._settings), "stats"
        )
        return {
            str(symbol): SeriesStats(count=int(count), first=_utc(first), last=_utc(last))
            for symbol, count, first, last in result.result_rows
        }

    async def stats(self, ref: SeriesKey, start: dt.datetime, end: dt.datetime) -> SeriesStats:
        """Count the distinct bars of ``ref`` in ``[start, end]`` and find the first and last."""
        sql = f"SELECT count(), min(ts), max(ts) FROM {BARS_TABLE} FINAL WHERE {SERIES_WHERE}"
        result = await self.clickhouse.run(
            lambda client: client.query(
                sql, parameters=series_params(ref, start, end), settings=self._settings
            ),
            "stats",
        )
        count, first, last = result.result_rows[0]
        if not count:
            return SeriesStats(count=0, first=None, last=None)
        return SeriesStats(count=int(count), first=_utc(first), last=_utc(last))

    async def page(
        self, ref: SeriesKey, start: dt.datetime, end: dt.datetime, offset: int, limit: int
    ) -> pa.Table:
        """Stored bars of ``ref`` in ``[start, end]``, oldest first, ``limit`` rows from ``offset``."""
        columns = ", ".join(BAR_ARROW_SCHEMA.names)
        sql = (
            f"SELECT {columns} FROM {BARS_TABLE} FINAL WHERE {SERIES_WHERE}"
            " ORDER BY ts LIMIT {limit:UInt64} OFFSET {offset:UInt64}"
        )
        params = series_params(ref, start, end) | {"limit": limit, "offset": offset}
        table = await self.clickhouse.run(
            lambda client: client.query_arrow(sql, parameters=params, settings=self._settings), "page"
        )
        return _with_utc_ts(table).cast(BAR_ARROW_SCHEMA)

    async def export_chunk(
        self, ref: SeriesKey, start: dt.datetime, end: dt.datetime, columns: Sequence[str]
    ) -> pa.Table:
        """Stored bars of ``ref`` in ``[start, end]``, oldest first, only ``columns``."""
        unknown = set(columns) - set(BAR_ARROW_SCHEMA.names)
        if unknown:
            raise InvalidQuery(f"unknown columns: {', '.join(sorted(unknown))}")
        schema = pa.schema([BAR_ARROW_SCHEMA.field(name) for name in columns])
        sql = f"SELECT {', '.join(columns)} FROM {BARS_TABLE} FINAL WHERE {SERIES_WHERE} ORDER BY ts"
        table = await self.clickhouse.run(
            lambda client: client.query_arrow(
                sql, parameters=series_params(ref, start, end), settings=self._settings
            ),
            "export",
        )
        return _with_utc_ts(table).cast(schema)

    async def delete(
        self,
        ref: SeriesKey,
        start: dt.datetime,
        end: dt.datetime,
        keep: Sequence[tuple[dt.datetime, dt.datetime]] = (),
    ) -> int:
        """Delete the bars of ``ref`` in ``[start, end]`` except those inside any ``keep`` range.

        Returns:
            How many distinct bars were deleted.
        """
        where = SERIES_WHERE
        params = series_params(ref, start, end)
        for index, (keep_start, keep_end) in enumerate(keep):
            where += (
                f" AND NOT (ts >= fromUnixTimestamp64Milli({{ks{index}:Int64}}, 'UTC')"
                f" AND ts <= fromUnixTimestamp64Milli({{ke{index}:Int64}}, 'UTC'))"
            )
            params[f"ks{index}"] = epoch_ms(keep_start)
            params[f"ke{index}"] = epoch_ms(keep_end)

        def delete(client: Client) -> int:
            days = client.query(
                f"SELECT toDate32(ts, '{EXCHANGE_TZ}') AS day, count() FROM {BARS_TABLE} FINAL"
                f" WHERE {where} GROUP BY day",
                parameters=params,
            ).result_rows
            deleted = sum(int(count) for _, count in days)
            if deleted:
                client.command(f"DELETE FROM {BARS_TABLE} WHERE {where}", parameters=params)
                self.rollups.mark(client, ref, sorted(day for day, _ in days), removed=True)
            return deleted

        return await self.clickhouse.run(delete, "delete")

    async def refresh_rollups(self, ref: SeriesKey) -> int:
        """Rebuild ``ref``'s rollups wherever its bars changed; return how many days were rebuilt."""
        return await self.clickhouse.run(lambda client: self.rollups.refresh(client, ref), "rollups")

    async def chart_slice(self, query: SliceQuery, *, rollups_fresh: bool = False) -> Slice:
        """OHLCV of ``query``'s window at its timeframe, or wider buckets to fit ``max_points``.

        When the window holds no more than ``max_points`` bars at the timeframe they all come back;
        otherwise the narrowest ladder width that fits is used. ClickHouse aggregates the window at
        a fine width (at most ``16 × max_points`` buckets) and the last step to a wider width, which
        those buckets tile exactly, is a NumPy reduction over that small result (see
        :mod:`warehouse.clickhouse.slice_search`).

        Args:
            query: The series, timeframe, window, budget, session and widths allowed.
            rollups_fresh: The caller knows nothing changed since the rollups were last refreshed
                (otherwise they are refreshed first when this slice reads them).

        Raises:
            InvalidQuery: the series is not fine enough for the timeframe.
            QueryBudgetExceeded: a query ran past the store's time budget.
        """
        stale = not rollups_fresh

        async def stage(base: str, wider: tuple[str, ...], cap: int) -> tuple[pa.Table, bool]:
            nonlocal stale
            table, truncated, stale = await self._stage(query, base, wider, cap, stale)
            return table, truncated

        return await search(query, stage)

    async def bucket_series(
        self,
        ref: SeriesKey,
        width: str,
        session: Session = "extended",
        start: dt.datetime = BARS_FROM,
        end: dt.datetime = _LAST_INSTANT,
    ) -> pa.Table:
        """Every ``width`` bucket of ``ref`` from ``start`` to ``end``, oldest first (OHLCV, no cap on width).

        The buckets a chart slice at ``width`` draws, over the whole series: what indicators are
        computed over.

        Raises:
            InvalidQuery: ``ref`` is not fine enough for ``width``, or it holds more than
                :data:`BUCKET_SERIES_LIMIT` buckets.
        """
        if width not in LADDER or not tiles(ref.series, width):
            raise InvalidQuery(f"a {ref.series} series cannot be cut into {width} buckets")
        query = SliceQuery(
            ref=ref, timeframe=width, start=start, end=end, max_points=2, session=session, widths=(width,)
        )
        table, truncated, _ = await self._stage(query, width, (), BUCKET_SERIES_LIMIT, True)
        if truncated:
            raise InvalidQuery(
                f"{ref.symbol} holds more than {BUCKET_SERIES_LIMIT:,} {width} buckets:"
                " choose a wider timeframe"
            )
        return table.select(CHART_SLICE_ARROW_SCHEMA.names).cast(CHART_SLICE_ARROW_SCHEMA)

    async def rollup_series(
        self, ref: SeriesKey, width: str, session: str, start: dt.datetime, end: dt.datetime
    ) -> pa.Table:
        """The ``width`` rollup rows of ``ref`` for ``session`` in ``[start, end]``, oldest first."""
        sql = (
            f"SELECT ts, open, high, low, close, volume FROM {ROLLUPS_TABLE} FINAL"
            " WHERE symbol = {symbol:String} AND timespan = {series:String} AND adjusted = {adjusted:Bool}"
            " AND width = {width:String} AND session = {session:String}"
            " AND ts >= {start:DateTime64(3, 'UTC')} AND ts <= {end:DateTime64(3, 'UTC')} ORDER BY ts"
        )
        params = series_params(ref, start, end) | {"width": width, "session": session}
        table = await self.clickhouse.run(
            lambda client: client.query_arrow(sql, parameters=params, settings=self._settings), "rollups"
        )
        return _with_utc_ts(table).cast(CHART_SLICE_ARROW_SCHEMA)

    async def _stage(
        self, query: SliceQuery, base: str, wider: tuple[str, ...], cap: int, stale: bool
    ) -> tuple[pa.Table, bool, bool]:
        """The window at width ``base``, from rollups where they tile it.

        Each row also carries its bucket at every ``wider`` width. Returns the table, whether
        ``cap`` cut it short, and whether the rollups may still be ``stale`` (they are refreshed
        before they are read).
        """
        ref, start, end, session = query.ref, query.start, query.end, query.regular
        where = SERIES_WHERE + (REGULAR_SESSION if session else "")
        params = series_params(ref, start, end) | {"cap": cap + 1}
        sql = _slice_sql(base, wider, raw=ref.series == base, where=where)
        source = rollup_source(ref.series, base)
        if source is not None:
            mid_lo, mid_hi = cut_points(source, start, end)
            if mid_lo < mid_hi:
                rows = f"{rollup_rows_sql(source, regular=session)} UNION ALL " + _edge_rows_sql(where)
                sql = _slice_sql(base, wider, raw=False, rows=rows)
                params |= {"mid_lo": mid_lo, "mid_hi": mid_hi}
            else:
                source = None

        refresh = source is not None and stale

        def read(client: Client) -> pa.Table:
            if refresh:
                self.rollups.refresh(client, ref)
            return client.query_arrow(sql, parameters=params, settings=self._settings)

        table = await self.clickhouse.run(read, "slice")
        return _with_utc_ts(table.slice(0, cap)), table.num_rows > cap, stale and not refresh


def _keep_block_tokens(client: Client) -> None:
    """Make the bar table remember its latest blocks' tokens, so a retried insert stores each block once.

    Replicated tables remember them anyway, and a cluster's Distributed table has no such setting.
    """
    engine = client.command(
        "SELECT engine FROM system.tables WHERE database = currentDatabase() AND name = {name:String}",
        parameters={"name": BARS_TABLE},
    )
    if engine == BARS.engine.split("(")[0]:
        window = f"non_replicated_deduplication_window = {DEDUPLICATION_WINDOW}"
        client.command(f"ALTER TABLE {BARS_TABLE} MODIFY SETTING {window}")


def _partition_chunks(table: pa.Table, *, intraday: bool) -> list[pa.Table]:
    """Split ``table`` so no insert touches more partitions than ClickHouse allows (100 by default).

    Bars are partitioned by year, so a chunk of daily or wider bars holds fifty years. A chunk of
    intraday bars holds one: a server's table made before intraday bars were partitioned by year
    keeps month partitions (only embedded tables are moved, by
    :func:`~warehouse.clickhouse.ddl.repartition`).
    """
    ts = table.column("ts").cast(pa.int64()).to_numpy()
    years = ts.astype("datetime64[ms]").astype("datetime64[Y]").astype(np.int64)
    group = years if intraday else years // 50
    if group.min() == group.max():
        return [table]
    order = np.argsort(group, kind="stable")
    ordered = table.take(pa.array(order))
    sorted_group = group[order]
    bounds = np.flatnonzero(np.diff(sorted_group)) + 1
    edges = [0, *bounds.tolist(), len(sorted_group)]
    return [ordered.slice(lo, hi - lo) for lo, hi in itertools.pairwise(edges)]


def _edge_rows_sql(where: str) -> str:
    """Bars of the window outside the part rollups cover, as rows ``(t, o, h, l, c, v)``."""
    return (
        "SELECT ts AS t, open AS o, high AS h, low AS l, close AS c, volume AS v"
        f" FROM {BARS_TABLE} FINAL WHERE {where}"
        " AND (ts < {mid_lo:DateTime64(3, 'UTC')} OR ts >= {mid_hi:DateTime64(3, 'UTC')})"
    )


def _slice_sql(
    base: str, wider: Sequence[str], *, raw: bool, where: str = SERIES_WHERE, rows: str | None = None
) -> str:
    """SQL for the window at width ``base`` plus, per ``wider`` width, the bucket each row falls in.

    ``rows`` replaces the bars as the input (``t, o, h, l, c, v`` per row, e.g. rollups plus the
    bars at the window's edges); ``raw`` returns the bars themselves, unaggregated.
    """
    extra = "".join(f", {bucket_sql(code, 'ts')} AS b_{code}" for code in wider)
    if raw:
        return (
            f"SELECT ts, open, high, low, close, volume{extra} FROM {BARS_TABLE} FINAL"
            f" WHERE {where} ORDER BY ts LIMIT {{cap:UInt64}}"
        )
    if rows is None:
        rows = (
            "SELECT ts AS t, open AS o, high AS h, low AS l, close AS c, volume AS v"
            f" FROM {BARS_TABLE} FINAL WHERE {where}"
        )
    inner = (
        f"SELECT {bucket_sql(base, 't')} AS b, argMin(o, t) AS o, max(h) AS h, min(l) AS l,"
        f" argMax(c, t) AS c, sum(v) AS v FROM ({rows}) GROUP BY b"
    )
    extra = "".join(f", {bucket_sql(code, 'b')} AS b_{code}" for code in wider)
    return (
        f"SELECT b AS ts, o AS open, h AS high, l AS low, c AS close, v AS volume{extra}"
        f" FROM ({inner}) ORDER BY ts LIMIT {{cap:UInt64}}"
    )


def _with_utc_ts(table: pa.Table) -> pa.Table:
    """Cast every timestamp column to ms in UTC (chDB may answer other units or zones)."""
    for index, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and field.type != TS_TYPE:
            table = table.set_column(index, field.name, table.column(index).cast(TS_TYPE))
    return table


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
