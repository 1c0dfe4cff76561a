"""Stored test data: bars inserted straight into the bar store and registered as a dataset."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from pipelines.ingest.sources.feeds import bars_batch
from pipelines.services import Services
from schemas.bars import SeriesKey
from warehouse.catalog.datasets import DatasetRecord


def rising_bars(start: dt.datetime, count: int, step_ms: int) -> pa.RecordBatch:
    """``count`` bars from ``start``, ``step_ms`` apart, closing at 100, 101, 102 …"""
    first = int(start.timestamp() * 1000)
    closes = [100.0 + k for k in range(count)]
    return bars_batch(
        [first + k * step_ms for k in range(count)],
        closes,
        [c + 1 for c in closes],
        [c - 1 for c in closes],
        closes,
        [10.0] * count,
        [None] * count,
        [None] * count,
    )


async def store_minute_dataset(
    services: Services, name: str, symbol: str, bars: pa.Table, start: dt.date, end: dt.date
) -> None:
    """Store ``bars`` as ``symbol``'s adjusted 1-minute series and register dataset ``name`` over them.

    The parts are merged and the rollups built afterwards, as the fetch path does.
    """
    ref = SeriesKey.of(symbol=symbol, series="1m", adjusted=True)
    await services.bars.insert(ref, "synthetic", bars)
    await services.bars.refresh_rollups(ref)
    await services.catalog.upsert(
        DatasetRecord(
            table=name,
            symbol=symbol,
            timespan="minute",
            multiplier=1,
            adjusted=True,
            source="synthetic",
            start_date=start,
            end_date=end,
            record_count=bars.num_rows,
            first_bar=bars.column("ts")[0].as_py(),
            last_bar=bars.column("ts")[-1].as_py(),
        )
    )
