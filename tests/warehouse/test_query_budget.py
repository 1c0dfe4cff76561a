"""A ClickHouse query over its time budget raises ``QueryBudgetExceeded``, from one place.

:meth:`warehouse.clickhouse.client.ClickHouse.run` translates ClickHouse's ``TIMEOUT_EXCEEDED``
for every query; the bar store gives each read its budget (15 s, lower here to make it quick).
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from api.runtime import Runtime
from pipelines.ingest.sources.synthetic import generate_bars
from schemas.bars import SeriesKey, SliceQuery
from warehouse.clickhouse.bars import BarStore
from warehouse.errors import QueryBudgetExceeded

_symbols = itertools.count()
TOO_LONG = "SELECT sum(number) FROM numbers(10000000000)"
"""Ten billion rows: far more than a millisecond's work."""


async def test_a_query_past_max_execution_time_raises_query_budget_exceeded(runtime: Runtime) -> None:
    with pytest.raises(QueryBudgetExceeded) as raised:
        await runtime.stack.clickhouse.run(
            lambda client: client.query(TOO_LONG, settings={"max_execution_time": 0.001})
        )
    cause = raised.value.__cause__
    assert isinstance(cause, DatabaseError)
    assert cause.code == 159  # TIMEOUT_EXCEEDED, as chDB reports it


async def test_other_clickhouse_errors_are_not_budget_errors(runtime: Runtime) -> None:
    with pytest.raises(DatabaseError) as raised:
        await runtime.stack.clickhouse.run(lambda client: client.query("SELECT * FROM no_such_table_here"))
    assert not isinstance(raised.value, QueryBudgetExceeded)


async def test_every_bar_read_keeps_the_store_budget(runtime: Runtime) -> None:
    ref = SeriesKey.of(symbol=f"BUDGET{next(_symbols)}", series="1m", adjusted=True)
    bars = generate_bars(ref, dt.date(2024, 3, 4), dt.date(2024, 3, 8))
    await runtime.services.bars.insert(ref, "synthetic", bars)
    start, end = bars.column("ts")[0].as_py(), bars.column("ts")[-1].as_py()
    tight = BarStore(runtime.stack.clickhouse, time_budget_s=1e-6)
    reads = [
        tight.page(ref, start, end, 0, 100),
        tight.stats(ref, start, end),
        tight.export_chunk(ref, start, end, ("ts", "close")),
        tight.chart_slice(SliceQuery(ref=ref, timeframe="1m", start=start, end=end, max_points=500)),
    ]
    for read in reads:
        with pytest.raises(QueryBudgetExceeded):
            await read
    # The same reads within the default budget answer.
    assert (await runtime.services.bars.stats(ref, start, end)).count == bars.num_rows
