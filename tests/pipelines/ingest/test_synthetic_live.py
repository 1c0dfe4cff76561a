"""The synthetic live feed: every minute has a bar, deterministic, agreeing with the synthetic history."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pyarrow as pa
import pytest

from pipelines.ingest.sources.feeds import LiveBars
from pipelines.ingest.sources.synthetic import generate_bars
from pipelines.ingest.sources.synthetic_live import STEPS, SyntheticFeed, minute_bars, open_bar
from schemas.bars import BAR_ARROW_SCHEMA, SeriesKey

MINUTE = 60_000
FRIDAY_AFTERNOON = int(dt.datetime(2024, 3, 8, 18, 0, tzinfo=dt.UTC).timestamp() * 1000)
WEEKEND = 4 * 24 * 60  # Friday 13:00 New York to Tuesday 13:00, across a weekend


def ms(value: dt.datetime) -> int:
    return int(value.timestamp() * 1000)


def test_every_minute_has_a_valid_bar_and_the_price_never_jumps():
    table = minute_bars("DEMO", FRIDAY_AFTERNOON, FRIDAY_AFTERNOON + WEEKEND * MINUTE)
    assert table.schema == BAR_ARROW_SCHEMA
    ts = np.array([ms(t) for t in table.column("ts").to_pylist()])
    assert (np.diff(ts) == MINUTE).all()
    assert len(ts) == WEEKEND
    o, h, low, c = (np.array(table.column(name).to_pylist()) for name in ("open", "high", "low", "close"))
    assert (low <= np.minimum(o, c)).all()
    assert (h >= np.maximum(o, c)).all()
    assert (np.array(table.column("volume").to_pylist()) >= 1).all()
    quiet = ~np.isin(ts, _history_ts("DEMO", dt.date(2024, 3, 8), dt.date(2024, 3, 12)))
    # Across quiet minutes (nights, the weekend) each bar opens where the one before closed.
    both = quiet[1:] & quiet[:-1]
    assert both.sum() > 2_000
    assert np.array_equal(o[1:][both], c[:-1][both])


def _history_ts(symbol: str, first: dt.date, last: dt.date) -> np.ndarray:
    history = generate_bars(SeriesKey(symbol=symbol, multiplier=1, timespan="minute"), first, last)
    return np.array([ms(t) for t in history.column("ts").to_pylist()])


def test_session_minutes_are_the_synthetic_history_and_any_split_gives_the_same_bars():
    start = FRIDAY_AFTERNOON
    whole = minute_bars("SYNTH", start, start + 600 * MINUTE)
    parts = pa.concat_tables(
        [
            minute_bars("SYNTH", start, start + 250 * MINUTE),
            minute_bars("SYNTH", start + 250 * MINUTE, start + 600 * MINUTE),
        ]
    )
    assert whole.equals(parts)
    history = generate_bars(
        SeriesKey(symbol="SYNTH", multiplier=1, timespan="minute"), dt.date(2024, 3, 8), dt.date(2024, 3, 8)
    )
    by_ts = {row["ts"]: row for row in whole.to_pylist()}
    matched = [row for row in history.to_pylist() if row["ts"] in by_ts]
    assert len(matched) > 60
    assert all(by_ts[row["ts"]] == row for row in matched)
    assert not minute_bars("OTHER", start, start + 60 * MINUTE).equals(
        minute_bars("SYNTH", start, start + 60 * MINUTE)
    )


def test_the_open_bar_grows_into_the_closed_one():
    minute = FRIDAY_AFTERNOON + 123 * MINUTE
    final = minute_bars("DEMO", minute, minute + MINUTE).to_pylist()[0]
    seen = [open_bar("DEMO", minute, step / STEPS).to_pylist()[0] for step in range(1, STEPS + 1)]
    assert seen[-1] == final
    for before, after in itertools.pairwise(seen):
        assert after["high"] >= before["high"]
        assert after["low"] <= before["low"]
        assert after["volume"] >= before["volume"]
    for bar in seen:
        assert bar["open"] == final["open"]
        assert final["low"] <= bar["low"] <= min(bar["open"], bar["close"])
        assert max(bar["open"], bar["close"]) <= bar["high"] <= final["high"]
    assert open_bar("DEMO", minute, 0.0).to_pylist() == open_bar("DEMO", minute, 0.01).to_pylist()


def test_whole_minutes_only():
    with pytest.raises(ValueError, match="whole minutes"):
        minute_bars("DEMO", FRIDAY_AFTERNOON + 1, FRIDAY_AFTERNOON + MINUTE)
    with pytest.raises(ValueError, match="starts on 2000-01-03"):
        minute_bars("DEMO", 0, MINUTE)


async def test_the_feed_catches_up_then_ticks_and_closes_each_minute_once():
    now = [dt.datetime(2024, 3, 12, 14, 30, 40, tzinfo=dt.UTC)]
    sleeps: list[float] = []

    async def step(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += dt.timedelta(seconds=seconds)

    feed = SyntheticFeed(["synth", "DEMO"], tick_s=2.0, clock=lambda: now[0], sleep=step)
    last_demo = ms(dt.datetime(2024, 3, 12, 14, 0, tzinfo=dt.UTC))
    updates = feed.updates({"DEMO": last_demo, "SYNTH": None})
    catch_up = await anext(updates)
    by_symbol = {item.symbol: item for item in catch_up}
    assert all(item.closed and item.backfill for item in catch_up)
    assert by_symbol["DEMO"].bars.num_rows == 29  # 14:01 .. 14:29
    assert by_symbol["SYNTH"].bars.num_rows == 14 * 60 + 30 - 4 * 60  # since New York midnight
    batches: list[list[LiveBars]] = [await anext(updates) for _ in range(14)]
    await updates.aclose()
    closed = [
        (item.symbol, ms(item.bars.column("ts")[0].as_py()))
        for batch in batches
        for item in batch
        if item.closed
    ]
    minute = ms(dt.datetime(2024, 3, 12, 14, 30, tzinfo=dt.UTC))
    assert closed == [("DEMO", minute), ("SYNTH", minute)]  # 14:30 closes once, at the boundary
    assert all(len([i for i in batch if not i.closed]) == 2 for batch in batches)
    assert max(sleeps) <= 2.0
    # The close arrives just after the minute boundary, not up to a tick late.
    assert now[0] >= dt.datetime(2024, 3, 12, 14, 31, tzinfo=dt.UTC)


async def test_a_long_absence_is_caught_up_within_max_gap():
    now = dt.datetime(2024, 3, 12, 14, 30, 5, tzinfo=dt.UTC)
    feed = SyntheticFeed(["DEMO"], max_gap=dt.timedelta(hours=2), clock=lambda: now)
    updates = feed.updates({"DEMO": ms(now - dt.timedelta(days=30))})
    (item,) = await anext(updates)
    await updates.aclose()
    assert item.bars.num_rows == 120
