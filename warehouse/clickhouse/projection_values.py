"""Stored projections: a projection's future buckets, median path and band, one row each.

A row is written once, when its job ends, and deleted with its projection; rows are small (a
horizon is at most 1,000 steps), so a chart reads the few it draws whole.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from clickhouse_connect.driver.client import Client

from warehouse.clickhouse.client import ClickHouse
from warehouse.clickhouse.ddl import PROJECTION_VALUES_TABLE

Floats = np.ndarray[Any, np.dtype[np.float64]]
Stamps = np.ndarray[Any, np.dtype[np.int64]]


@dataclass(frozen=True, slots=True)
class StoredPath:
    """One projection's values: bucket starts (epoch ms) and the median, lower and upper paths."""

    projection_id: str
    ts: Stamps
    median: Floats
    lower: Floats
    upper: Floats


class ProjectionValueStore:
    """Rows of ``projection_values``."""

    def __init__(self, clickhouse: ClickHouse) -> None:
        self.clickhouse = clickhouse

    async def write(
        self, path: StoredPath, *, symbol: str, source: str, created_at: dt.datetime, last_bar: int
    ) -> None:
        """Store a projection's path (replacing any earlier copy of it)."""
        table = pa.table(
            {
                "projection_id": [path.projection_id],
                "symbol": [symbol],
                "is_projection": [True],
                "projection_source": [source],
                "created_at": pa.array([created_at], type=pa.timestamp("ms", tz="UTC")),
                "last_bar": pa.array([last_bar], type=pa.int64()),
                "ts": pa.array([path.ts], type=pa.list_(pa.int64())),
                "median": pa.array([path.median], type=pa.list_(pa.float64())),
                "lower": pa.array([path.lower], type=pa.list_(pa.float64())),
                "upper": pa.array([path.upper], type=pa.list_(pa.float64())),
            }
        )

        def insert(client: Client) -> None:
            client.command(
                f"DELETE FROM {PROJECTION_VALUES_TABLE} WHERE projection_id = {{id:String}}",
                parameters={"id": path.projection_id},
            )
            client.insert_arrow(PROJECTION_VALUES_TABLE, table)

        await self.clickhouse.run(insert, "insert")

    async def read(self, projection_ids: Sequence[str]) -> dict[str, StoredPath]:
        """The stored paths of ``projection_ids`` that exist."""
        if not projection_ids:
            return {}
        sql = (
            f"SELECT projection_id, ts, median, lower, upper FROM {PROJECTION_VALUES_TABLE} FINAL"
            " WHERE projection_id IN {ids:Array(String)}"
        )
        rows = await self.clickhouse.run(
            lambda client: client.query(sql, parameters={"ids": list(projection_ids)}).result_rows,
            "projections",
        )
        return {
            row[0]: StoredPath(
                projection_id=row[0],
                ts=np.asarray(row[1], dtype=np.int64),
                median=np.asarray(row[2], dtype=np.float64),
                lower=np.asarray(row[3], dtype=np.float64),
                upper=np.asarray(row[4], dtype=np.float64),
            )
            for row in rows
        }

    async def delete(self, projection_id: str) -> None:
        """Delete a projection's stored path."""
        await self.clickhouse.run(
            lambda client: client.command(
                f"DELETE FROM {PROJECTION_VALUES_TABLE} WHERE projection_id = {{id:String}}",
                parameters={"id": projection_id},
            ),
            "delete",
        )
