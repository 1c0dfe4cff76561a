"""The slice join seam: extra series joined onto a chart slice as columns, one column prefix each.

A chart slice is bars (:data:`schemas.bars.CHART_SLICE_ARROW_SCHEMA`); everything drawn with them
comes as further columns, row for row, named ``<prefix><series>:<field>``. Each prefix has one
:class:`Joiner`, and :class:`SliceJoins` is the one place they meet:

==========  =====================================================  ==========================
prefix      joiner                                                 asked for by
==========  =====================================================  ==========================
``ind:``    :class:`pipelines.indicators.joins.IndicatorJoiner`    ``indicators``
``proj:``   :class:`pipelines.projections.joins.ProjectionJoiner`  ``projections``
``trade:``  :class:`pipelines.strategies.joins.TradeJoiner`         ``run_id``
==========  =====================================================  ==========================

A joiner works in two steps. :meth:`Joiner.plan` reads the chart request when it is planned,
before any bars are read (a malformed spec is a 422 then), and returns a :class:`Join`, or None
when the request asks nothing of it. Once the bars are sliced, :meth:`Join.columns` returns the
columns; the seam checks that each is named with the joiner's prefix, holds a value per bar and
is new, and appends them.

To add a prefix (``proj:`` for projections, say): write a joiner in its concept package
(``pipelines/projections/joins.py``: a ``prefix`` of ``"proj:"``, ``plan`` reading
``request.projections``, a ``Join`` reading the stored series), and pass it to the registry the
composition root builds (``SliceJoins([IndicatorJoiner(), ProjectionJoiner(store)])`` in
``api/runtime.py``). Its entry in :data:`ASKED` then stops being refused. A new request field
naming joined series gets an entry in :data:`ASKED` too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import numpy as np
import pyarrow as pa

from pipelines.series.versions import SeriesVersion
from pipelines.work_pool import WorkPool
from schemas.bars import ChartDataRequest, SliceQuery
from warehouse.clickhouse.slice_search import Slice
from warehouse.errors import InvalidQuery

ASKED: Final[dict[str, Callable[[ChartDataRequest], bool]]] = {
    "ind:": lambda request: bool(request.indicators),
    "proj:": lambda request: bool(request.projections),
    "trade:": lambda request: bool(request.run_id),
}
"""Every column prefix a chart request can ask for, and whether a request asks for it."""

_REFUSED: Final = {
    "ind:": "no indicator series can be joined to bars here",
    "proj:": "no projection series can be joined to bars here",
    "trade:": "no backtest trades can be joined to bars here",
}
"""What a request that asks for a prefix with no joiner is told (a 422)."""

SliceSource = Callable[[SliceQuery], Awaitable[Slice]]
"""Slices of the same series at the same version (hot cache first, then ClickHouse)."""


@dataclass(frozen=True, slots=True)
class JoinContext:
    """What a join may read besides the bars: the slice's query, its series version, more slices."""

    query: SliceQuery
    """The query the bars answer (their bucket may be wider than its timeframe)."""
    version: SeriesVersion
    """The series' version the bars were read at."""
    slice: SliceSource
    """More bars of the series, e.g. the buckets before the window to warm an indicator up."""
    work: WorkPool
    """Where a join's arithmetic runs: in a thread, never on the event loop."""


Column = tuple[pa.Field, pa.Array]


@dataclass(frozen=True, slots=True)
class FutureRows:
    """Rows a join adds after the last bar: their bucket starts and its columns' values there.

    Every other column of those rows is null, the bars' own included (there are no bars yet).
    """

    ts: np.ndarray[Any, np.dtype[np.int64]]
    """Bucket starts, epoch ms, ascending, all after the last bar."""
    values: dict[str, np.ndarray[Any, np.dtype[np.float64]]]
    """One of the join's columns (by name) → a value per row of ``ts`` (NaN: null)."""


class Join(Protocol):
    """One joiner's share of one chart request, planned."""

    async def columns(self, bars: Slice, context: JoinContext) -> Sequence[Column]:
        """The columns to join to ``bars``: a field named with the joiner's prefix, a value per bar."""
        ...

    async def future(self, bars: Slice, context: JoinContext) -> FutureRows | None:
        """Rows to add after the last bar (a projection's steps to come), or None."""
        ...


class Joiner(Protocol):
    """Joins the series of one column prefix."""

    @property
    def prefix(self) -> str:
        """The column prefix, e.g. ``ind:``."""
        ...

    def plan(self, request: ChartDataRequest) -> Join | None:
        """What ``request`` asks of this joiner, or None when nothing.

        Raises a client error (a 4xx) when it asks for something malformed.
        """
        ...


@dataclass(frozen=True, slots=True)
class PlannedJoin:
    """A join of a chart request and the prefix its columns carry."""

    prefix: str
    join: Join


class SliceJoins:
    """The registry of joiners, by column prefix."""

    def __init__(self, joiners: Iterable[Joiner]) -> None:
        """Register ``joiners``; each names one prefix of :data:`ASKED`."""
        self.joiners: dict[str, Joiner] = {}
        for joiner in joiners:
            if joiner.prefix not in ASKED:
                raise ValueError(f"{joiner.prefix!r} is not a column prefix of ASKED")
            if joiner.prefix in self.joiners:
                raise ValueError(f"two joiners for {joiner.prefix!r}")
            self.joiners[joiner.prefix] = joiner

    def plan(self, request: ChartDataRequest) -> tuple[PlannedJoin, ...]:
        """The joins ``request`` asks for, in registry order.

        Raises:
            InvalidQuery: it asks for series no joiner joins yet.
            PipelineClientError: a joiner finds what it asks for malformed.
        """
        for prefix, asks in ASKED.items():
            if prefix not in self.joiners and asks(request):
                raise InvalidQuery(_REFUSED.get(prefix, f"no {prefix} series can be joined to bars"))
        planned = []
        for prefix, joiner in self.joiners.items():
            join = joiner.plan(request)
            if join is not None:
                planned.append(PlannedJoin(prefix=prefix, join=join))
        return tuple(planned)

    @staticmethod
    async def apply(planned: Sequence[PlannedJoin], bars: Slice, context: JoinContext) -> Slice:
        """``bars`` with every planned join's columns appended, in order.

        Raises:
            AssertionError: a joiner broke the seam's contract (a bug, not the caller's fault).
        """
        if not planned:
            return bars
        table = bars.table
        futures: list[FutureRows] = []
        for each in planned:
            for field, values in await each.join.columns(bars, context):
                if not field.name.startswith(each.prefix):
                    raise AssertionError(f"the {each.prefix} joiner returned column {field.name!r}")
                if len(values) != bars.table.num_rows:
                    raise AssertionError(
                        f"column {field.name!r} has {len(values)} values for {table.num_rows} bars"
                    )
                if field.name in table.column_names:
                    raise AssertionError(f"column {field.name!r} is joined twice")
                table = table.append_column(field, values)
            future = await each.join.future(bars, context)
            if future is not None:
                futures.append(future)
        if futures and table.num_rows:
            table = _with_future_rows(table, futures)
        return Slice(table=table, bucket=bars.bucket, truncated=bars.truncated)


def _with_future_rows(table: pa.Table, futures: Sequence[FutureRows]) -> pa.Table:
    """``table`` with the futures' rows after its last bar: their columns' values, null elsewhere."""
    last = table.column("ts").cast(pa.int64())[-1].as_py()
    stamps = np.unique(np.concatenate([future.ts for future in futures]))
    stamps = stamps[stamps > last]
    if stamps.size == 0:
        return table
    rows = {name: np.full(stamps.size, np.nan) for name in table.column_names}
    for future in futures:
        at = np.searchsorted(stamps, future.ts)
        keep = (at < stamps.size) & (stamps[np.minimum(at, stamps.size - 1)] == future.ts)
        for name, values in future.values.items():
            rows[name][at[keep]] = values[keep]
    nullable = pa.schema(
        [field.with_nullable(True) for field in table.schema], metadata=table.schema.metadata
    )
    extra = {
        field.name: pa.array(stamps, type=pa.int64()).cast(field.type)
        if field.name == "ts"
        else pa.array(rows[field.name], type=field.type, from_pandas=True)
        for field in nullable
    }
    return pa.concat_tables([table.cast(nullable), pa.table(extra, schema=nullable)])
