"""The write path on the real stores: bars stored, versions bumped over their span, datasets registered."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from api.runtime import Runtime
from pipelines.series.writes import BarWriter, Claim, DatasetExtent
from schemas.bars import SeriesKey
from schemas.datasets import DateRange, exchange_day_bounds
from tests.data import rising_bars

MINUTE_MS = 60_000
DAY_MS = 86_400_000
KEY = SeriesKey.of(symbol="WRT", series="1m", adjusted=True)


def at(moment: str) -> dt.datetime:
    return dt.datetime.fromisoformat(moment).replace(tzinfo=dt.UTC)


def bars(start: dt.datetime, count: int, step_ms: int = MINUTE_MS) -> pa.RecordBatch:
    return rising_bars(start, count, step_ms)


def writer(runtime: Runtime) -> BarWriter:
    return runtime.services.writer


def claim(source: str) -> Claim:
    """A writer run's claim (its rows go with the next test's clean stores)."""
    return Claim(source=source, doing="testing")


async def test_a_write_stores_the_bars_and_bumps_exactly_the_months_of_its_span(clean: Runtime):
    services = clean.services
    before = await services.versions.current(KEY)
    assert before.months == {}

    written = await writer(clean).write(KEY, claim("synthetic"), bars(at("2024-03-10T14:30"), 90))

    assert written.rows == 90
    assert written.span == (at("2024-03-10T14:30"), at("2024-03-10T15:59"))
    stats = await services.bars.stats(KEY, at("2024-03-01"), at("2024-04-01"))
    assert (stats.count, stats.first, stats.last) == (90, at("2024-03-10T14:30"), at("2024-03-10T15:59"))
    after = await services.versions.current(KEY)
    assert after.token != before.token
    assert after.everywhere == 0
    assert after.months == {202403: 1}

    # a span within a day of a month's end reaches the next month too (its UTC evening bars)
    await writer(clean).write(KEY, claim("synthetic"), bars(at("2024-03-31T14:30"), 2))
    assert (await services.versions.current(KEY)).months == {202403: 2, 202404: 1}


async def test_a_write_of_no_bars_or_without_a_bump_leaves_the_version(clean: Runtime):
    services = clean.services
    before = await services.versions.current(KEY)

    empty = await writer(clean).write(KEY, claim("synthetic"), bars(at("2024-03-10T14:30"), 0))
    quiet = await writer(clean).write(KEY, claim("synthetic"), bars(at("2024-03-10T14:30"), 5), bump=False)

    assert (empty.rows, empty.span) == (0, None)
    assert (quiet.rows, quiet.span) == (5, (at("2024-03-10T14:30"), at("2024-03-10T14:34")))
    assert (await services.bars.stats(KEY, at("2024-03-10"), at("2024-03-11"))).count == 5
    assert await services.versions.current(KEY) == before


async def test_a_write_registers_its_dataset_and_a_second_write_refreshes_it(clean: Runtime):
    services = clean.services
    day = dt.date(2024, 3, 11)
    start, end = exchange_day_bounds(day, day)
    await writer(clean).write(KEY, claim("file"), bars(at("2024-03-11T14:30"), 30))
    extent = DatasetExtent(
        key=KEY, source="file", start=day, end=day, stats=await services.bars.stats(KEY, start, end)
    )

    [first] = await writer(clean).register([extent])

    assert first.table == "wrt_1minute_2024-03-11_2024-03-11"
    assert (first.symbol, first.timespan, first.multiplier, first.adjusted) == ("WRT", "minute", 1, True)
    assert first.source == "file"
    assert first.date_range == DateRange(from_=day, to=day)
    assert (first.total_records, first.first_bar, first.last_bar) == (
        30,
        at("2024-03-11T14:30"),
        at("2024-03-11T14:59"),
    )

    await writer(clean).write(KEY, claim("file"), bars(at("2024-03-11T14:45"), 30))  # 15 overlap, 15 new
    again = DatasetExtent(
        key=KEY, source="file", start=day, end=day, stats=await services.bars.stats(KEY, start, end)
    )
    [second] = await writer(clean).register([again])

    assert second.table == first.table
    assert second.created_at == first.created_at
    assert (second.total_records, second.first_bar, second.last_bar) == (
        45,
        at("2024-03-11T14:30"),
        at("2024-03-11T15:14"),
    )
    assert [d.table for d in await services.catalog.all()] == [first.table]


async def test_a_live_extent_widens_its_dataset_and_bumps_after_the_catalog(clean: Runtime):
    services = clean.services
    table = "wrt_1minute_2024-03-11_live"
    first_day, next_day = dt.date(2024, 3, 11), dt.date(2024, 3, 12)
    one = await writer(clean).write(KEY, claim("polygon"), bars(at("2024-03-11T14:30"), 10), bump=False)
    assert one.span is not None
    [opened] = await writer(clean).extend(
        [
            DatasetExtent(
                key=KEY,
                source="polygon",
                start=first_day,
                end=first_day,
                stats=await services.bars.stats(KEY, *one.span),
                table=table,
            )
        ],
        changed=one.span,
    )
    assert opened.date_range == DateRange(from_=first_day, to=first_day)
    assert opened.total_records == 10
    assert (await services.versions.current(KEY)).months == {202403: 1}

    two = await writer(clean).write(KEY, claim("polygon"), bars(at("2024-03-12T14:30"), 5), bump=False)
    stored = await services.bars.stats(KEY, *exchange_day_bounds(first_day, next_day))
    # the extent names only the new day: the stored range grows to cover both
    [extended] = await writer(clean).extend(
        [DatasetExtent(key=KEY, source="polygon", start=next_day, end=next_day, stats=stored, table=table)],
        changed=two.span,
    )

    assert extended.table == table
    assert extended.date_range == DateRange(from_=first_day, to=next_day)
    assert (extended.total_records, extended.first_bar, extended.last_bar) == (
        15,
        at("2024-03-11T14:30"),
        at("2024-03-12T14:34"),
    )
    assert [d.table for d in await services.catalog.all()] == [table]
    assert (await services.versions.current(KEY)).months == {202403: 2}


async def test_a_multi_symbol_write_bumps_each_symbol_once(clean: Runtime):
    services = clean.services
    parts = []
    for symbol, count in (("AAA", 3), ("BBB", 2)):
        part = pa.Table.from_batches([bars(at("2024-05-30T04:00"), count, DAY_MS)])
        parts.append(part.append_column("symbol", pa.repeat(symbol, count)))
    table = pa.concat_tables(parts)
    keys = {symbol: SeriesKey.of(symbol=symbol, series="1d", adjusted=True) for symbol in ("AAA", "BBB")}
    untouched = SeriesKey.of(symbol="CCC", series="1d", adjusted=True)
    untouched_before = await services.versions.current(untouched)

    written = await writer(clean).write_symbols("1d", True, claim("synthetic"), table)

    assert written.rows == 5
    assert written.span == (at("2024-05-30T04:00"), at("2024-06-01T04:00"))
    stats = await services.bars.stats_many("1d", True, at("2024-05-01"), at("2024-07-01"), ["AAA", "BBB"])
    assert {symbol: item.count for symbol, item in stats.items()} == {"AAA": 3, "BBB": 2}
    for key in keys.values():
        version = await services.versions.current(key)
        assert version.everywhere == 0
        assert version.months == {202405: 1, 202406: 1}  # the whole batch's span, for every symbol
    assert await services.versions.current(untouched) == untouched_before


async def test_registering_many_keeps_their_order_and_bumps_each_when_changed(clean: Runtime):
    services = clean.services
    day = dt.date(2024, 6, 3)
    keys = [SeriesKey.of(symbol=symbol, series="1d", adjusted=False) for symbol in ("ZZZ", "AAA", "MMM")]
    extents = [DatasetExtent(key=key, source="polygon", start=day, end=day) for key in keys]
    changed = exchange_day_bounds(day, day)

    datasets = await writer(clean).register(extents, changed=changed)

    assert [d.symbol for d in datasets] == ["ZZZ", "AAA", "MMM"]
    assert [d.table for d in datasets] == [
        "zzz_1day_2024-06-03_2024-06-03_raw",
        "aaa_1day_2024-06-03_2024-06-03_raw",
        "mmm_1day_2024-06-03_2024-06-03_raw",
    ]
    assert all(
        (d.total_records, d.first_bar, d.last_bar, d.adjusted) == (0, None, None, False) for d in datasets
    )
    for key in keys:
        assert (await services.versions.current(key)).months == {202406: 1}
    assert await writer(clean).register([]) == []
