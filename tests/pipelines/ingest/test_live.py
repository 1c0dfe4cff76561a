"""The live recorder on the real stores: bars stored once, datasets kept current, versions, events."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator

import msgspec
import pyarrow as pa
import pytest

from api.runtime import Runtime
from pipelines.ingest.live import MAX_EVENTS_PER_SYMBOL, LiveRecorder, LiveSourceConflict, run_live
from pipelines.ingest.sources.feeds import LiveBars, bars_batch
from pipelines.ingest.sources.synthetic import generate_bars
from pipelines.ingest.sources.synthetic_live import SyntheticFeed, minute_bars
from schemas.bars import SeriesKey
from schemas.events import EVENTS_CHANNEL, Event, StockUpdate
from warehouse.catalog.datasets import DatasetRecord

TODAY = dt.date(2024, 3, 12)
T0 = int(dt.datetime(2024, 3, 12, 14, 30, tzinfo=dt.UTC).timestamp() * 1000)  # 10:30 New York
MINUTE = 60_000
DAY_START = dt.datetime(2024, 3, 12, 4, tzinfo=dt.UTC)  # New York midnight (EDT)
DAY_END = dt.datetime(2024, 3, 13, 4, tzinfo=dt.UTC) - dt.timedelta(milliseconds=1)


def minutes(start: int, count: int, price: float = 100.0) -> pa.RecordBatch:
    ts = [start + k * MINUTE for k in range(count)]
    closes = [price + k for k in range(count)]
    return bars_batch(
        ts,
        closes,
        [c + 1 for c in closes],
        [c - 1 for c in closes],
        closes,
        [10.0] * count,
        [None] * count,
        [None] * count,
    )


def recorder(runtime: Runtime, source: str = "polygon", **options: object) -> LiveRecorder:
    services = runtime.services
    return LiveRecorder(
        services.bars,
        services.catalog,
        services.versions,
        services.publisher,
        source=source,
        today=lambda: TODAY,
        writer=services.writer,
        **options,
    )


@contextlib.asynccontextmanager
async def listening(runtime: Runtime) -> AsyncIterator[list[Event]]:
    """Every event published on the channel while the context lasts."""
    got: list[Event] = []
    pubsub = runtime.stack.redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(EVENTS_CHANNEL)
    decoder = msgspec.json.Decoder(Event)

    async def read() -> None:
        async for message in pubsub.listen():
            if message.get("type") == "message":
                got.append(decoder.decode(message["data"]))

    task = asyncio.create_task(read())
    try:
        yield got
    finally:
        await asyncio.sleep(0.2)  # the last publications reach the reader
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await pubsub.aclose()  # type: ignore[no-untyped-call]


async def datasets(runtime: Runtime, symbol: str) -> dict[str, dict[str, object]]:
    return {d.table: msgspec.to_builtins(d) for d in await runtime.services.catalog.for_symbol(symbol)}


async def test_closed_bars_are_stored_once_registered_versioned_and_announced(clean: Runtime):
    live = recorder(clean)
    ref = SeriesKey.of(symbol="LIVE", series="1m", adjusted=True)
    assert await live.prepare(["LIVE"]) == {"LIVE": int(DAY_START.timestamp() * 1000) - 1}
    version = await clean.services.versions.get(ref)
    async with listening(clean) as events:
        published = await live.record([LiveBars(symbol="LIVE", bars=minutes(T0, 3))])
        again = await live.record([LiveBars(symbol="LIVE", bars=minutes(T0 + MINUTE, 3), backfill=True)])
    stats = await clean.services.bars.stats(ref, DAY_START, DAY_END)
    assert stats.count == 4  # T0 .. T0+3min, the overlap stored once
    assert await clean.services.versions.get(ref) != version
    tables = await datasets(clean, "LIVE")
    assert list(tables) == ["live_1minute_2024-03-12_live"]
    dataset = tables["live_1minute_2024-03-12_live"]
    assert dataset["total_records"] == 4
    assert dataset["source"] == "polygon"
    assert dataset["date_range"] == {"from": "2024-03-12", "to": "2024-03-12"}
    assert dataset["first_bar"] == "2024-03-12T14:30:00Z"
    assert dataset["last_bar"] == "2024-03-12T14:33:00Z"
    assert [e.ts for e in published] == [T0, T0 + MINUTE, T0 + 2 * MINUTE]
    assert [e.ts for e in again] == [T0 + MINUTE, T0 + 2 * MINUTE, T0 + 3 * MINUTE]
    received = [e for e in events if isinstance(e, StockUpdate)]
    assert received == published + again
    first = received[0]
    assert (first.symbol, first.adjusted, first.closed, first.series, first.source) == (
        "LIVE",
        True,
        True,
        ["1m"],
        "polygon",
    )
    assert (first.open, first.high, first.low, first.close, first.volume) == (100.0, 101.0, 99.0, 100.0, 10.0)


async def test_open_bars_are_announced_but_not_stored(clean: Runtime):
    live = recorder(clean)
    await live.prepare(["LIVE"])
    events = await live.record([LiveBars(symbol="LIVE", bars=minutes(T0, 1), closed=False)])
    assert [(e.ts, e.closed) for e in events] == [(T0, False)]
    assert (
        await clean.services.bars.stats(
            SeriesKey.of(symbol="LIVE", series="1m", adjusted=True), DAY_START, DAY_END
        )
    ).count == 0
    assert await datasets(clean, "LIVE") == {}


async def test_a_recent_dataset_is_extended_and_its_day_bar_rolled_up(clean: Runtime):
    services = clean.services
    key = SeriesKey(symbol="EXT", multiplier=1, timespan="minute")
    history = generate_bars(key, dt.date(2024, 3, 11), dt.date(2024, 3, 11))
    minute_ref = SeriesKey.of(symbol="EXT", series="1m", adjusted=True)
    day_ref = SeriesKey.of(symbol="EXT", series="1d", adjusted=True)
    await services.bars.insert(minute_ref, "synthetic", history)
    days = generate_bars(
        SeriesKey(symbol="EXT", multiplier=1, timespan="day"), dt.date(2024, 3, 4), dt.date(2024, 3, 11)
    )
    await services.bars.insert(day_ref, "synthetic", days)
    for ref, timespan, table, count, start in (
        (minute_ref, "minute", "ext_1minute_2024-03-11_2024-03-11", history.num_rows, dt.date(2024, 3, 11)),
        (day_ref, "day", "ext_1day_2024-03-04_2024-03-11", days.num_rows, dt.date(2024, 3, 4)),
    ):
        stats = await services.bars.stats(ref, dt.datetime(2024, 3, 1, tzinfo=dt.UTC), DAY_END)
        await services.catalog.upsert(
            DatasetRecord(
                table=table,
                symbol="EXT",
                timespan=timespan,
                multiplier=1,
                adjusted=True,
                source="synthetic",
                start_date=start,
                end_date=dt.date(2024, 3, 11),
                record_count=count,
                first_bar=stats.first,
                last_bar=stats.last,
            )
        )
    live = recorder(clean, source="synthetic")
    since = await live.prepare(["EXT"])
    last = history.column("ts")[-1].as_py()
    assert since == {"EXT": int(last.timestamp() * 1000)}
    assert live.series_of("EXT") == ["1m", "1d"]
    today = minute_bars("EXT", T0, T0 + 5 * MINUTE)
    events = await live.record([LiveBars(symbol="EXT", bars=today.to_batches()[0])])
    assert {tuple(e.series) for e in events} == {("1m", "1d")}

    tables = await datasets(clean, "EXT")
    assert set(tables) == {"ext_1minute_2024-03-11_2024-03-11", "ext_1day_2024-03-04_2024-03-11"}
    minute = tables["ext_1minute_2024-03-11_2024-03-11"]
    assert minute["date_range"] == {"from": "2024-03-11", "to": "2024-03-12"}
    assert minute["total_records"] == history.num_rows + 5
    assert minute["last_bar"] == "2024-03-12T14:34:00Z"
    day = tables["ext_1day_2024-03-04_2024-03-11"]
    assert day["total_records"] == days.num_rows + 1
    assert day["last_bar"] == "2024-03-12T04:00:00Z"
    rolled = (await services.bars.page(day_ref, DAY_START, DAY_END, 0, 10)).to_pylist()
    assert len(rolled) == 1
    bars = today.to_pylist()
    assert rolled[0]["open"] == bars[0]["open"]
    assert rolled[0]["close"] == bars[-1]["close"]
    assert rolled[0]["high"] == max(b["high"] for b in bars)
    assert rolled[0]["low"] == min(b["low"] for b in bars)
    assert rolled[0]["volume"] == sum(b["volume"] for b in bars)


async def test_live_bars_refuse_to_mix_sources(clean: Runtime):
    await clean.services.catalog.upsert(
        DatasetRecord(
            table="mix_1minute_2024-03-11_2024-03-11",
            symbol="MIX",
            timespan="minute",
            multiplier=1,
            adjusted=True,
            source="synthetic",
            start_date=dt.date(2024, 3, 11),
            end_date=dt.date(2024, 3, 11),
            record_count=0,
            first_bar=None,
            last_bar=None,
        )
    )
    with pytest.raises(LiveSourceConflict, match="MIX minute bars are stored from synthetic"):
        await recorder(clean).prepare(["MIX"])


async def test_a_long_backfill_announces_only_its_newest_bars(clean: Runtime):
    live = recorder(clean)
    await live.prepare(["LONG"])
    events = await live.record([LiveBars(symbol="LONG", bars=minutes(T0 - 300 * MINUTE, 300), backfill=True)])
    assert len(events) == MAX_EVENTS_PER_SYMBOL
    assert events[-1].ts == T0 - MINUTE
    stats = await clean.services.bars.stats(
        SeriesKey.of(symbol="LONG", series="1m", adjusted=True), DAY_START, DAY_END
    )
    assert stats.count == 300


async def test_the_synthetic_feed_recorded_end_to_end(clean: Runtime):
    """The demo's path: catch-up since midnight, then ticks with open and closed bars."""
    now = [dt.datetime(2024, 3, 12, 14, 30, 50, tzinfo=dt.UTC)]

    async def step(_: float) -> None:
        now[0] += dt.timedelta(seconds=20)

    feed = SyntheticFeed(["DEMO"], clock=lambda: now[0], sleep=step)
    live = recorder(clean, source="synthetic")
    seen: list[list[StockUpdate]] = []

    async def collect(events: list[StockUpdate]) -> None:
        seen.append(events)
        if len(seen) == 4:
            raise asyncio.CancelledError

    with contextlib.suppress(asyncio.CancelledError):
        await run_live(feed, live, collect)
    ref = SeriesKey.of(symbol="DEMO", series="1m", adjusted=True)
    stored = await clean.services.bars.stats(ref, DAY_START, DAY_END)
    # midnight (04:00 UTC) to 14:29 caught up, then 14:30 closed on the tick at 14:31:10
    assert stored.count == (14 * 60 + 30 - 4 * 60) + 1
    assert stored.last == dt.datetime(2024, 3, 12, 14, 30, tzinfo=dt.UTC)
    assert [(e.ts, e.closed) for e in seen[1]] == [(T0, False)]
    assert [(e.ts, e.closed) for e in seen[2]] == [(T0, True), (T0 + MINUTE, False)]
    assert [(e.ts, e.closed) for e in seen[3]] == [(T0 + MINUTE, False)]
    assert seen[3][0].volume >= seen[2][1].volume  # the minute in progress grows
    final = minute_bars("DEMO", T0, T0 + MINUTE).to_pylist()[0]
    closed = seen[2][0]
    assert (closed.open, closed.high, closed.low, closed.close, closed.volume) == (
        final["open"],
        final["high"],
        final["low"],
        final["close"],
        final["volume"],
    )
    assert list(await datasets(clean, "DEMO")) == ["demo_1minute_2024-03-12_live"]


async def test_a_malformed_stream_event_is_dropped_and_the_stream_goes_on(clean: Runtime):
    live = recorder(clean)
    await live.prepare(["LIVE", "GOOD"])
    events = await live.record(
        [
            LiveBars(symbol="LIVE", bars=minutes(T0, 2, price=-5.0)),  # a negative price: dropped
            LiveBars(symbol="GOOD", bars=minutes(T0, 2)),
        ]
    )
    assert [event.symbol for event in events] == ["GOOD", "GOOD"]
    stats = [
        (
            await clean.services.bars.stats(
                SeriesKey.of(symbol=s, series="1m", adjusted=True), DAY_START, DAY_END
            )
        ).count
        for s in ("LIVE", "GOOD")
    ]
    assert stats == [0, 2]
