"""The ``proj:`` joiner: stored projections as columns of a chart slice, and as rows past its last bar.

chart-data's ``projections`` (ids) adds ``proj:<id>:median``, ``proj:<id>:lower`` and
``proj:<id>:upper`` float columns. A projection's steps are future buckets when it is made: those
still after the last real bar come as extra rows (OHLCV null, only the projection columns set);
steps real bars have reached since sit on those bars' rows, so realised bars and the forecast are
drawn together. A step whose bucket is not in the slice (a zoomed-out chart puts several steps in
one bucket) gives that bucket the step's value at the bucket's start.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pyarrow as pa

from pipelines.charts.joins import Column, FutureRows, JoinContext
from schemas.bars import ChartDataRequest
from warehouse.catalog.projections import ProjectionRepository
from warehouse.clickhouse.projection_values import ProjectionValueStore, StoredPath
from warehouse.clickhouse.slice_search import Slice
from warehouse.errors import InvalidQuery, NotFound

PREFIX: Final = "proj:"
OUTPUTS: Final = ("median", "lower", "upper")
_ID: Final = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True, slots=True)
class ProjectionJoin:
    """One chart request's projection columns."""

    ids: tuple[str, ...]
    records: ProjectionRepository
    values: ProjectionValueStore

    async def _paths(self, context: JoinContext) -> list[StoredPath]:
        found = {p.id: p for p in await self.records.many(list(self.ids))}
        for projection_id in self.ids:
            projection = found.get(projection_id)
            if projection is None:
                raise NotFound(f"no projection {projection_id}")
            if projection.symbol != context.query.ref.symbol:
                raise InvalidQuery(
                    f"projection {projection_id} is of {projection.symbol}, not {context.query.ref.symbol}"
                )
            if projection.status != "complete":
                raise InvalidQuery(
                    f"projection {projection_id} is {projection.status}: it is drawn once complete"
                )
        paths = await self.values.read(list(self.ids))
        return [paths[projection_id] for projection_id in self.ids if projection_id in paths]

    async def columns(self, bars: Slice, context: JoinContext) -> Sequence[Column]:
        """Each projection's three columns over the bars (null where it has no step)."""
        ts = bars.table.column("ts").cast(pa.int64()).to_numpy()
        columns: list[Column] = []
        for path in await self._paths(context):
            at = np.searchsorted(ts, path.ts, side="right") - 1
            inside = (at >= 0) & (path.ts <= (ts[-1] if ts.size else -1))
            for output in OUTPUTS:
                values = np.full(ts.size, np.nan)
                values[at[inside][::-1]] = getattr(path, output)[inside][::-1]  # a bucket's first step wins
                name = f"{PREFIX}{path.projection_id}:{output}"
                columns.append(
                    (pa.field(name, pa.float64()), pa.array(values, type=pa.float64(), from_pandas=True))
                )
        return columns

    async def future(self, bars: Slice, context: JoinContext) -> FutureRows | None:
        """The steps still after the last bar, as rows."""
        if bars.table.num_rows == 0:
            return None
        last = bars.table.column("ts").cast(pa.int64())[-1].as_py()
        stamps: list[np.ndarray] = []
        values: dict[str, np.ndarray] = {}
        paths = await self._paths(context)
        for path in paths:
            stamps.append(path.ts[path.ts > last])
        if not stamps or not any(s.size for s in stamps):
            return None
        ts = np.unique(np.concatenate(stamps))
        for path in paths:
            at = np.searchsorted(path.ts, ts)
            hit = (at < path.ts.size) & (path.ts[np.minimum(at, path.ts.size - 1)] == ts)
            for output in OUTPUTS:
                column = np.full(ts.size, np.nan)
                column[hit] = getattr(path, output)[at[hit]]
                values[f"{PREFIX}{path.projection_id}:{output}"] = column
        return FutureRows(ts=ts, values=values)


class ProjectionJoiner:
    """Joins ``proj:`` columns (and rows to come) for chart requests naming ``projections``."""

    prefix: Final = PREFIX

    def __init__(self, records: ProjectionRepository, values: ProjectionValueStore) -> None:
        self.records = records
        self.values = values

    def plan(self, request: ChartDataRequest) -> ProjectionJoin | None:
        """A join when the request names projections.

        Raises:
            InvalidQuery: a name that is not a projection id (32 hexadecimal digits).
        """
        if not request.projections:
            return None
        for projection_id in request.projections:
            if _ID.fullmatch(projection_id) is None:
                raise InvalidQuery(f"{projection_id[:40]!r} is not a projection id (32 hexadecimal digits)")
        return ProjectionJoin(tuple(dict.fromkeys(request.projections)), self.records, self.values)
