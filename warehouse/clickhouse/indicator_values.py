"""Stored indicator outputs: one row per output and chunk of buckets, the values as arrays.

Values are stored per :class:`~schemas.indicators.OutputKey` (series, session, bucket width,
spec) and output, in chunks: a UTC month of buckets for intraday widths, a UTC year for wider
ones. A chunk is one row holding its bucket starts and values as arrays, so a million minute
buckets of six indicators are a few hundred rows: written in one insert, and a chart window
reads the one or two chunks it falls in. A chunk written again replaces the old one (the newest
``version`` wins: reads use ``FINAL``), so a recompute writes no second copy of anything; only a
series that lost buckets has its key's chunks deleted first.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pyarrow as pa
from clickhouse_connect.driver.client import Client

from schemas.indicators import OutputKey
from schemas.values import BarWidth
from warehouse.clickhouse.client import ClickHouse
from warehouse.clickhouse.ddl import INDICATOR_VALUES_TABLE

_KEY_WHERE: Final = (
    "symbol = {symbol:String} AND timespan = {series:String} AND adjusted = {adjusted:Bool}"
    " AND session = {session:String} AND width = {width:String} AND spec = {spec:String}"
)
_SERIES_WHERE: Final = (
    "symbol = {symbol:String} AND timespan = {series:String} AND adjusted = {adjusted:Bool}"
)

Floats = np.ndarray[Any, np.dtype[np.float64]]
Stamps = np.ndarray[Any, np.dtype[np.int64]]


def chunk_starts(width: str, ts: Stamps) -> Stamps:
    """The chunk (epoch ms of its UTC month or year start) of each bucket start in ``ts``.

    >>> chunk_starts("1m", np.array([1709251200000, 1711929599999], dtype=np.int64)).tolist()
    [1709251200000, 1709251200000]
    """
    unit = "M" if BarWidth.of(width).is_intraday else "Y"
    starts = ts.astype("datetime64[ms]").astype(f"datetime64[{unit}]").astype("datetime64[ms]")
    return starts.astype(np.int64)


def _key_params(key: OutputKey) -> dict[str, Any]:
    return {
        "symbol": key.symbol,
        "series": key.series,
        "adjusted": key.adjusted,
        "session": key.session,
        "width": key.width,
        "spec": key.spec,
    }


class IndicatorValueStore:
    """Indicator outputs in ClickHouse (table ``indicator_values``)."""

    def __init__(self, clickhouse: ClickHouse) -> None:
        self.clickhouse = clickhouse

    async def write(
        self,
        key: OutputKey,
        outputs: Sequence[str],
        ts: Stamps,
        values: Sequence[Floats],
        *,
        replace: bool = False,
    ) -> int:
        """Store ``values`` (one array per output, aligned with ``ts``) as whole chunks; return rows written.

        The chunks ``ts`` reaches are replaced and the others kept, so ``ts`` must hold every
        bucket of each chunk it touches. ``replace`` drops every stored chunk of ``key`` first
        (for a series that lost buckets).
        """
        return await self.write_many([(key, outputs, ts, values)], replace=replace)

    async def write_many(
        self,
        series: Sequence[tuple[OutputKey, Sequence[str], Stamps, Sequence[Floats]]],
        *,
        replace: bool = False,
    ) -> int:
        """:meth:`write` for several keys in one insert."""
        tables = [_chunk_table(key, outputs, ts, values) for key, outputs, ts, values in series]
        table = pa.concat_tables(tables) if tables else None

        def store(client: Client) -> None:
            if replace:
                for key, *_ in series:
                    client.command(
                        f"DELETE FROM {INDICATOR_VALUES_TABLE} WHERE {_KEY_WHERE}",
                        parameters=_key_params(key),
                    )
            if table is not None and table.num_rows:
                client.insert_arrow(INDICATOR_VALUES_TABLE, table)

        await self.clickhouse.run(store)
        return 0 if table is None else table.num_rows

    async def read(
        self, key: OutputKey, outputs: Sequence[str], start_ms: int, end_ms: int
    ) -> tuple[Stamps, list[Floats]]:
        """The stored buckets of ``key`` from ``start_ms`` to ``end_ms`` (inclusive), each output's values."""
        params = _key_params(key) | {
            "c0": int(chunk_starts(key.width, np.array([start_ms], dtype=np.int64))[0]),
            "c1": int(end_ms),
        }
        sql = (
            f"SELECT output, ts, values FROM {INDICATOR_VALUES_TABLE} FINAL WHERE {_KEY_WHERE}"
            " AND chunk >= fromUnixTimestamp64Milli({c0:Int64}, 'UTC')"
            " AND chunk <= fromUnixTimestamp64Milli({c1:Int64}, 'UTC') ORDER BY output, chunk"
        )
        table = await self.clickhouse.run(lambda client: client.query_arrow(sql, parameters=params))
        by_output: dict[str, tuple[list[Any], list[Any]]] = {}
        names = table.column("output").to_pylist()
        ts_lists, value_lists = table.column("ts"), table.column("values")
        for index, name in enumerate(names):
            stamps, vals = by_output.setdefault(str(name), ([], []))
            stamps.append(ts_lists[index].values.to_numpy(zero_copy_only=False))
            vals.append(value_lists[index].values.to_numpy(zero_copy_only=False))
        if not outputs or outputs[0] not in by_output:
            return np.empty(0, np.int64), [np.empty(0, np.float64) for _ in outputs]
        all_ts = np.concatenate(by_output[outputs[0]][0]).astype(np.int64, copy=False)
        keep = (all_ts >= start_ms) & (all_ts <= end_ms)
        result: list[Floats] = []
        for output in outputs:
            stored = by_output.get(output)
            if stored is None:
                result.append(np.full(int(keep.sum()), np.nan))
            else:
                result.append(np.concatenate(stored[1]).astype(np.float64, copy=False)[keep])
        return all_ts[keep], result

    async def delete_series(self, symbol: str, series: str, adjusted: bool) -> None:
        """Delete every stored output over a series (all sessions, widths and specs)."""
        params = {"symbol": symbol, "series": series, "adjusted": adjusted}
        await self.clickhouse.run(
            lambda client: client.command(
                f"DELETE FROM {INDICATOR_VALUES_TABLE} WHERE {_SERIES_WHERE}", parameters=params
            )
        )

    async def delete(self, key: OutputKey) -> None:
        """Delete one key's stored outputs."""
        await self.clickhouse.run(
            lambda client: client.command(
                f"DELETE FROM {INDICATOR_VALUES_TABLE} WHERE {_KEY_WHERE}", parameters=_key_params(key)
            )
        )


def _chunk_table(key: OutputKey, outputs: Sequence[str], ts: Stamps, values: Sequence[Floats]) -> pa.Table:
    """Rows of ``indicator_values``: one per output and chunk."""
    chunks = chunk_starts(key.width, ts)
    bounds = np.flatnonzero(np.diff(chunks)) + 1 if len(chunks) else np.empty(0, np.int64)
    edges = (
        np.concatenate([[0], bounds, [len(chunks)]]).astype(np.int64)
        if len(chunks)
        else np.zeros(1, np.int64)
    )
    starts = chunks[edges[:-1]] if len(chunks) else np.empty(0, np.int64)
    n_chunks, n_outputs = len(starts), len(outputs)
    rows = n_chunks * n_outputs
    offsets = pa.array(edges.astype(np.int32), pa.int32())
    ts_list = pa.ListArray.from_arrays(offsets, pa.array(ts, pa.int64()))
    output_names: list[str] = []
    ts_columns: list[pa.Array] = []
    value_columns: list[pa.Array] = []
    for name, array in zip(outputs, values, strict=True):
        output_names.extend([name] * n_chunks)
        ts_columns.append(ts_list)
        value_columns.append(pa.ListArray.from_arrays(offsets, pa.array(array, pa.float64())))
    version = time.time_ns()
    return pa.table(
        {
            "symbol": pa.repeat(key.symbol, rows),
            "timespan": pa.repeat(key.series, rows),
            "adjusted": pa.repeat(key.adjusted, rows),
            "session": pa.repeat(key.session, rows),
            "width": pa.repeat(key.width, rows),
            "spec": pa.repeat(key.spec, rows),
            "output": pa.array(output_names, pa.string()),
            "chunk": pa.array(np.tile(starts, n_outputs), pa.timestamp("ms", tz="UTC")),
            "ts": pa.concat_arrays(ts_columns) if ts_columns else pa.array([], pa.list_(pa.int64())),
            "values": pa.concat_arrays(value_columns)
            if value_columns
            else pa.array([], pa.list_(pa.float64())),
            "version": pa.repeat(pa.scalar(version, pa.uint64()), rows),
        }
    )
