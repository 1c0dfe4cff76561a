"""Stored indicator outputs: one row per output and chunk of buckets, the values as arrays.

Values are stored per :class:`~schemas.indicators.OutputKey` (series, session, bucket width,
spec) and output, in chunks: a UTC month of buckets for intraday widths, a UTC year for wider
ones. A chunk is one row per output holding its values as an array (the first output's row also
holds the bucket starts), so a million minute buckets of six indicators are a few hundred rows:
written in one insert, and a chart window reads the one or two chunks it falls in. A chunk
written again replaces the old one: of the copies of a chunk the newest ``version`` is read (and
ClickHouse merges the others away), so a recompute writes no second copy anyone sees; only a series
that lost buckets has its key's chunks deleted first.

Chunks read or written are kept in memory (:data:`DEFAULT_CACHE_BYTES`), tagged with the
generation of their key's outputs (when they were last written, as the catalog records it): a
read with another generation reads the key again, so a chunk written by another process is never
served stale.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, Final

import msgspec
import numpy as np
import pyarrow as pa
from clickhouse_connect.driver.client import Client

from schemas.indicators import OutputKey
from schemas.values import BARS_FROM, BARS_UNTIL, BarWidth
from warehouse.clickhouse.bars import epoch_ms
from warehouse.clickhouse.client import ClickHouse
from warehouse.clickhouse.ddl import INDICATOR_VALUES_TABLE

DEFAULT_CACHE_BYTES: Final = 128 * 1024 * 1024
_EARLIEST_BUCKET_MS: Final = epoch_ms(BARS_FROM - dt.timedelta(days=366))
"""No bucket starts before this: the first bars are 1970's, whose year or week buckets may start in 1969."""
_LATEST_BUCKET_MS: Final = epoch_ms(BARS_UNTIL)
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
    return msgspec.structs.asdict(key)


class IndicatorValueStore:
    """Indicator outputs in ClickHouse (table ``indicator_values``)."""

    def __init__(self, clickhouse: ClickHouse, *, cache_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.clickhouse = clickhouse
        self.cache = ChunkCache(cache_bytes)

    async def write(
        self,
        key: OutputKey,
        outputs: Sequence[str],
        ts: Stamps,
        values: Sequence[Floats],
        *,
        replace: bool = False,
        generation: str | None = None,
        previous: str | None = None,
    ) -> int:
        """Store ``values`` (one array per output, aligned with ``ts``) as whole chunks; return rows written.

        The chunks ``ts`` reaches are replaced and the others kept, so ``ts`` must hold every
        bucket of each chunk it touches. ``replace`` drops every stored chunk of ``key`` first
        (for a series that lost buckets).
        """
        return await self.write_many(
            [(key, outputs, ts, values)],
            replace=replace,
            generation=generation,
            previous=None if previous is None else {key: previous},
        )

    async def write_many(
        self,
        series: Sequence[tuple[OutputKey, Sequence[str], Stamps, Sequence[Floats]]],
        *,
        replace: bool = False,
        generation: str | None = None,
        previous: Mapping[OutputKey, str] | None = None,
    ) -> int:
        """:meth:`write` for several keys in one insert.

        ``generation`` tags the chunks kept in memory; the chunks of a key kept at ``previous`` (the
        generation the writer extended) stay, the written ones replace theirs.
        """
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

        await self.clickhouse.run(store, "insert")
        for key, outputs, ts, values in series:
            if replace or generation is None:
                self.cache.drop(key)
            if generation is not None:
                self.cache.retag(
                    key, generation, keep=previous is not None and self.cache.tag(key) == previous.get(key)
                )
                for chunk, (stamps, by_output) in _chunks_of(key.width, outputs, ts, values).items():
                    self.cache.put(key, chunk, stamps, by_output)
        return 0 if table is None else table.num_rows

    async def read(
        self,
        key: OutputKey,
        outputs: Sequence[str],
        start_ms: int,
        end_ms: int,
        *,
        generation: str | None = None,
    ) -> tuple[Stamps, list[Floats]]:
        """The stored buckets of ``key`` from ``start_ms`` to ``end_ms`` (inclusive), each output's values.

        With ``generation`` (when the key's outputs were last written), chunks kept in memory at
        that generation are served from memory and the others read and kept.
        """
        start_ms, end_ms = max(start_ms, _EARLIEST_BUCKET_MS), min(end_ms, _LATEST_BUCKET_MS)
        if end_ms < start_ms:
            return np.empty(0, np.int64), [np.empty(0, np.float64) for _ in outputs]
        wanted = _chunk_range(key.width, start_ms, end_ms)
        if generation is not None:
            self.cache.retag(key, generation, keep=False)
        found = {chunk: self.cache.get(key, chunk) for chunk in wanted} if generation is not None else {}
        missing = [chunk for chunk in wanted if found.get(chunk) is None]
        if missing:
            read = await self._read_chunks(key, outputs, missing[0], missing[-1])
            for chunk in missing:
                stamps, by_output = read.get(chunk, (np.empty(0, np.int64), {}))
                found[chunk] = (stamps, by_output)
                if generation is not None:
                    self.cache.put(key, chunk, stamps, by_output)
        parts = [found[chunk] for chunk in wanted if found[chunk] is not None]
        all_ts = (
            np.concatenate([part[0] for part in parts if part is not None])
            if parts
            else np.empty(0, np.int64)
        )
        keep = (all_ts >= start_ms) & (all_ts <= end_ms)
        result: list[Floats] = []
        for output in outputs:
            columns = [
                part[1].get(output, np.full(len(part[0]), np.nan)) for part in parts if part is not None
            ]
            merged = np.concatenate(columns) if columns else np.empty(0, np.float64)
            result.append(merged[keep])
        return all_ts[keep], result

    async def _read_chunks(
        self, key: OutputKey, outputs: Sequence[str], first: int, last: int
    ) -> dict[int, tuple[Stamps, dict[str, Floats]]]:
        """Chunks ``first`` to ``last`` of ``key`` as stored (the newest copy of each)."""
        params = _key_params(key) | {"c0": first, "c1": last}
        sql = (
            f"SELECT output, toUnixTimestamp64Milli(chunk) AS c, version, ts, values"
            f" FROM {INDICATOR_VALUES_TABLE} WHERE {_KEY_WHERE}"
            " AND chunk >= fromUnixTimestamp64Milli({c0:Int64}, 'UTC')"
            " AND chunk <= fromUnixTimestamp64Milli({c1:Int64}, 'UTC')"
        )
        table = await self.clickhouse.run(
            lambda client: client.query_arrow(sql, parameters=params), "indicators"
        )
        newest: dict[tuple[str, int], int] = {}
        names, chunks = table.column("output").to_pylist(), table.column("c").to_pylist()
        versions = table.column("version").to_pylist()
        for index, (name, chunk, version) in enumerate(zip(names, chunks, versions, strict=True)):
            best = newest.get((str(name), int(chunk)))
            if best is None or versions[best] < version:
                newest[(str(name), int(chunk))] = index
        stamps_of: dict[int, Stamps] = {}
        values_of: dict[int, dict[str, Floats]] = {}
        ts_lists, value_lists = table.column("ts"), table.column("values")
        for (name, chunk), index in newest.items():
            values_of.setdefault(chunk, {})[name] = np.asarray(
                value_lists[index].values.to_numpy(zero_copy_only=False), dtype=np.float64
            )
            if outputs and name == outputs[0]:
                stamps_of[chunk] = np.asarray(ts_lists[index].values.to_numpy(zero_copy_only=False), np.int64)
        return {chunk: (stamps_of[chunk], values_of[chunk]) for chunk in stamps_of}

    async def delete_series(self, symbol: str, series: str, adjusted: bool) -> None:
        """Delete every stored output over a series (all sessions, widths and specs)."""
        self.cache.drop_series(symbol, series, adjusted)
        params = {"symbol": symbol, "series": series, "adjusted": adjusted}
        await self.clickhouse.run(
            lambda client: client.command(
                f"DELETE FROM {INDICATOR_VALUES_TABLE} WHERE {_SERIES_WHERE}", parameters=params
            ),
            "delete",
        )

    async def delete(self, key: OutputKey) -> None:
        """Delete one key's stored outputs."""
        self.cache.drop(key)
        await self.clickhouse.run(
            lambda client: client.command(
                f"DELETE FROM {INDICATOR_VALUES_TABLE} WHERE {_KEY_WHERE}", parameters=_key_params(key)
            ),
            "delete",
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
    no_stamps = pa.ListArray.from_arrays(pa.array(np.zeros(n_chunks + 1, np.int32)), pa.array([], pa.int64()))
    for index, (name, array) in enumerate(zip(outputs, values, strict=True)):
        output_names.extend([name] * n_chunks)
        ts_columns.append(ts_list if index == 0 else no_stamps)  # the bucket starts once per chunk
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


def _chunk_range(width: str, start_ms: int, end_ms: int) -> list[int]:
    """Every chunk start (epoch ms) from the chunk holding ``start_ms`` to the one holding ``end_ms``."""
    unit = "M" if BarWidth.of(width).is_intraday else "Y"
    first = np.datetime64(int(start_ms), "ms").astype(f"datetime64[{unit}]")
    last = np.datetime64(int(end_ms), "ms").astype(f"datetime64[{unit}]")
    return [int(c) for c in np.arange(first, last + 1).astype("datetime64[ms]").astype(np.int64)]


def _chunks_of(
    width: str, outputs: Sequence[str], ts: Stamps, values: Sequence[Floats]
) -> dict[int, tuple[Stamps, dict[str, Floats]]]:
    """``ts`` and ``values`` cut into their chunks."""
    if len(ts) == 0:
        return {}
    chunks = chunk_starts(width, ts)
    bounds = [0, *(np.flatnonzero(np.diff(chunks)) + 1).tolist(), len(ts)]
    return {
        int(chunks[lo]): (
            ts[lo:hi],
            {name: array[lo:hi] for name, array in zip(outputs, values, strict=True)},
        )
        for lo, hi in itertools.pairwise(bounds)
    }


Chunk = tuple[Stamps, dict[str, Floats]]


class ChunkCache:
    """Chunks of stored outputs in memory, least recently used dropped first, tagged per key."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._chunks: OrderedDict[tuple[OutputKey, int], Chunk] = OrderedDict()
        self._tags: dict[OutputKey, str] = {}

    def tag(self, key: OutputKey) -> str | None:
        """The generation ``key``'s chunks are kept at."""
        return self._tags.get(key)

    def retag(self, key: OutputKey, generation: str, *, keep: bool = True) -> None:
        """Tag ``key``'s chunks with ``generation``; a changed tag drops them unless ``keep``.

        A writer keeps them (it knows which chunks it wrote); a reader finding another generation
        does not (another process wrote them).
        """
        if self._tags.get(key) != generation:
            if not keep:
                self.drop(key)
            self._tags[key] = generation

    def get(self, key: OutputKey, chunk: int) -> Chunk | None:
        """A kept chunk, or None."""
        found = self._chunks.get((key, chunk))
        if found is not None:
            self._chunks.move_to_end((key, chunk))
        return found

    def put(self, key: OutputKey, chunk: int, stamps: Stamps, by_output: dict[str, Floats]) -> None:
        """Keep a chunk (dropping the least recently used beyond the budget)."""
        size = _size(stamps, by_output)
        if size > self.max_bytes:
            return
        old = self._chunks.pop((key, chunk), None)
        if old is not None:
            self.bytes -= _size(*old)
        self._chunks[(key, chunk)] = (stamps, by_output)
        self.bytes += size
        while self.bytes > self.max_bytes and self._chunks:
            _, dropped = self._chunks.popitem(last=False)
            self.bytes -= _size(*dropped)

    def drop(self, key: OutputKey) -> None:
        """Forget every chunk of ``key``."""
        for held in [held for held in self._chunks if held[0] == key]:
            self.bytes -= _size(*self._chunks.pop(held))
        self._tags.pop(key, None)

    def drop_series(self, symbol: str, series: str, adjusted: bool) -> None:
        """Forget every chunk of every key over one series."""
        for key in {held[0] for held in self._chunks} | set(self._tags):
            if (key.symbol, key.series, key.adjusted) == (symbol, series, adjusted):
                self.drop(key)


def _size(stamps: Stamps, by_output: dict[str, Floats]) -> int:
    return int(stamps.nbytes + sum(array.nbytes for array in by_output.values()))
