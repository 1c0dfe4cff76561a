"""The slice join seam: one joiner per column prefix, prefixes without one refused, columns checked."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import msgspec
import pyarrow as pa
import pytest

from api.runtime import Runtime
from pipelines.charts.joins import Column, FutureRows, JoinContext, SliceJoins
from pipelines.indicators.joins import IndicatorJoin, IndicatorJoiner
from pipelines.indicators.specs import InvalidIndicator
from pipelines.series.versions import SeriesVersion
from pipelines.work_pool import WorkPool
from schemas.bars import CHART_SLICE_ARROW_SCHEMA, ChartDataRequest, SeriesKey, SliceQuery
from warehouse.clickhouse.slice_search import Slice
from warehouse.errors import InvalidQuery

REF = SeriesKey.of(symbol="JOIN", series="1m", adjusted=True)
START = dt.datetime(2024, 3, 4, 15, tzinfo=dt.UTC)


def bars(rows: int) -> Slice:
    """``rows`` one-minute bars from :data:`START`."""
    ts = [START + dt.timedelta(minutes=i) for i in range(rows)]
    prices = [10.0 + i for i in range(rows)]
    table = pa.table(
        {"ts": ts, "open": prices, "high": prices, "low": prices, "close": prices, "volume": prices},
        schema=CHART_SLICE_ARROW_SCHEMA,
    )
    return Slice(table=table, bucket="1m", truncated=False)


def context(earlier: Slice) -> JoinContext:
    async def more(query: SliceQuery) -> Slice:
        return earlier

    query = SliceQuery(
        ref=REF, timeframe="1m", start=START, end=START + dt.timedelta(hours=1), max_points=100
    )
    return JoinContext(query=query, version=SeriesVersion.fixed("v"), slice=more, work=WorkPool())


class _Projection(msgspec.Struct, frozen=True):
    names: tuple[str, ...]
    column: str = "proj:{name}:mid"
    length: int | None = None

    async def columns(self, bars: Slice, context: JoinContext) -> Sequence[Column]:
        rows = bars.table.num_rows if self.length is None else self.length
        return [
            (pa.field(self.column.format(name=name), pa.float64()), pa.array([1.0] * rows))
            for name in self.names
        ]

    async def future(self, bars: Slice, context: JoinContext) -> FutureRows | None:
        return None


class _Projector:
    """A stand-in ``proj:`` joiner, as projections will add one."""

    prefix = "proj:"

    def __init__(self, **join: object) -> None:
        self.join = join

    def plan(self, request: ChartDataRequest) -> _Projection | None:
        if not request.projections:
            return None
        return _Projection(names=tuple(request.projections), **self.join)


def test_prefixes_without_a_joiner_are_refused_with_the_reason(runtime: Runtime) -> None:
    joins = SliceJoins([IndicatorJoiner(runtime.services.indicators)])
    for asked in (
        {"projections": ["gbm"]},
        {"run_id": "r1"},
        {"projections": ["gbm"], "indicators": ["sma"]},
    ):
        request = msgspec.convert({"symbol": "JOIN", **asked}, ChartDataRequest)
        with pytest.raises(
            InvalidQuery, match=r"no projection series can be joined|no backtest trades can be joined"
        ):
            joins.plan(request)
    assert joins.plan(ChartDataRequest(symbol="JOIN")) == ()
    with pytest.raises(InvalidIndicator):
        joins.plan(ChartDataRequest(symbol="JOIN", indicators=["nosuch(3)"]))


def test_indicators_plan_as_one_ind_join_with_each_spec_once(runtime: Runtime) -> None:
    (planned,) = SliceJoins([IndicatorJoiner(runtime.services.indicators)]).plan(
        ChartDataRequest(symbol="JOIN", indicators=["sma(5)", "SMA( 5 )", "rsi"])
    )
    assert planned.prefix == "ind:"
    assert isinstance(planned.join, IndicatorJoin)
    assert [spec.text for spec in planned.join.specs] == ["sma(5)", "rsi"]


async def test_a_registered_joiner_lifts_the_refusal_and_adds_its_columns(runtime: Runtime) -> None:
    joins = SliceJoins([IndicatorJoiner(runtime.services.indicators), _Projector()])
    request = ChartDataRequest(symbol="JOIN", projections=["gbm", "naive"])
    planned = joins.plan(request)
    assert [each.prefix for each in planned] == ["proj:"]
    joined = await joins.apply(planned, bars(20), context(bars(0)))
    assert joined.table.column_names == [*CHART_SLICE_ARROW_SCHEMA.names, "proj:gbm:mid", "proj:naive:mid"]
    assert joined.table.column("proj:gbm:mid").to_pylist() == [1.0] * 20
    assert (joined.bucket, joined.truncated) == ("1m", False)


async def test_the_seam_refuses_columns_that_break_its_contract() -> None:
    request = ChartDataRequest(symbol="JOIN", projections=["gbm"])
    for join, problem in (
        ({"column": "ind:{name}:mid"}, "returned column"),
        ({"length": 3}, "values for"),
        ({"column": "proj:same:mid"}, "joined twice"),
    ):
        joins = SliceJoins([_Projector(**join)])
        planned = joins.plan(msgspec.structs.replace(request, projections=["a", "b"]))
        with pytest.raises(AssertionError, match=problem):
            await joins.apply(planned, bars(5), context(bars(0)))


def test_the_registry_holds_one_joiner_per_known_prefix(runtime: Runtime) -> None:
    joiner = IndicatorJoiner(runtime.services.indicators)
    with pytest.raises(ValueError, match="two joiners"):
        SliceJoins([joiner, joiner])
    unknown = _Projector()
    unknown.prefix = "xyz:"
    with pytest.raises(ValueError, match="not a column prefix"):
        SliceJoins([unknown])
