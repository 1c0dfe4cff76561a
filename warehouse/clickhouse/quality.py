"""One pass over a stored series for data-quality checks: each bar's time and what is wrong with it."""

from __future__ import annotations

import datetime as dt
from typing import Final

import msgspec
import numpy as np
import numpy.typing as npt
from clickhouse_connect.driver.client import Client

from schemas.bars import SeriesKey
from warehouse.clickhouse.bars import QUERY_TIME_BUDGET_S, SERIES_WHERE, series_params
from warehouse.clickhouse.client import ClickHouse
from warehouse.clickhouse.ddl import BARS_TABLE

FLAG_BITS: Final = (
    ("zero_volume", 1, "volume = 0"),
    ("high_below_body", 2, "high < greatest(open, close)"),
    ("low_above_body", 4, "low > least(open, close)"),
    ("high_below_low", 8, "high < low"),
    (
        "non_positive",
        16,
        "NOT (isFinite(open) AND isFinite(high) AND isFinite(low) AND isFinite(close)"
        " AND least(open, high, low, close) > 0)",
    ),
)
"""Name, bit and SQL condition of every per-bar flag (bits as in :mod:`pipelines.quality.coverage`)."""

_FLAGS_SQL: Final = " + ".join(f"{bit} * ({condition})" for _, bit, condition in FLAG_BITS)


class SeriesScan(msgspec.Struct, frozen=True, kw_only=True):
    """The distinct stored bars of a series in a range: times (UTC epoch ms, ascending) and flags."""

    ts_ms: npt.NDArray[np.int64]
    flags: npt.NDArray[np.uint8]


async def scan_series(
    clickhouse: ClickHouse, ref: SeriesKey, start: dt.datetime, end: dt.datetime
) -> SeriesScan:
    """Read ``ref``'s bars in ``[start, end]`` once (deduplicated with ``FINAL``): 9 bytes a bar."""
    sql = (
        f"SELECT toUnixTimestamp64Milli(ts) AS t, toUInt8({_FLAGS_SQL}) AS flags"
        f" FROM {BARS_TABLE} FINAL WHERE {SERIES_WHERE} ORDER BY ts"
    )

    def query(client: Client) -> SeriesScan:
        table = client.query_arrow(
            sql,
            parameters=series_params(ref, start, end),
            settings={"max_execution_time": QUERY_TIME_BUDGET_S},
        )
        return SeriesScan(
            ts_ms=table.column("t").to_numpy().astype(np.int64, copy=False),
            flags=table.column("flags").to_numpy().astype(np.uint8, copy=False),
        )

    return await clickhouse.run(query, "quality")
