"""Indicator columns joined to chart slices: named, typed, warmed up, and equal to TA-Lib's own values."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import talib

from pipelines.indicators.specs import parse_indicator
from tests.api.test_chart_slices import MINUTES, chart
from tests.api.test_stocks import fetch


def values(table: pa.Table, name: str) -> list[float | None]:
    return table.column(name).to_pylist()


async def test_indicator_columns_match_ta_lib_over_the_same_buckets(client, clean):
    await fetch(client, clean, MINUTES)
    window = {"from": "2024-03-12", "to": "2024-03-13", "timeframe": "15m", "max_points": 5000}
    answer, table = await chart(client, indicators=["SMA(20)", "bbands(20, 2, 2)", "rsi"], **window)
    assert answer.headers["x-k2q-bucket"] == "15m"
    names = table.column_names
    assert names[:6] == ["ts", "open", "high", "low", "close", "volume"]
    assert names[6:] == [
        "ind:sma(20):real",
        "ind:bbands(20,2,2):upperband",
        "ind:bbands(20,2,2):middleband",
        "ind:bbands(20,2,2):lowerband",
        "ind:rsi:real",
    ]
    field = table.schema.field("ind:sma(20):real")
    assert field.type == pa.float64()
    assert field.metadata[b"k2q.overlay"] == b"true"
    assert table.schema.field("ind:rsi:real").metadata[b"k2q.overlay"] == b"false"

    # The reference: every 15-minute bucket from the start of the data, through TA-Lib directly.
    _, history = await chart(client, **{**window, "from": "2024-03-04"})
    closes = np.asarray(history.column("close").to_numpy(), dtype=float)
    skip = history.num_rows - table.num_rows
    assert history.column("ts").to_pylist()[skip:] == table.column("ts").to_pylist()
    sma = talib.SMA(closes, timeperiod=20)[skip:]
    upper, middle, lower = (band[skip:] for band in talib.BBANDS(closes, 20, 2, 2))
    for name, want in (
        ("ind:sma(20):real", sma),
        ("ind:bbands(20,2,2):upperband", upper),
        ("ind:bbands(20,2,2):middleband", middle),
        ("ind:bbands(20,2,2):lowerband", lower),
    ):
        got = values(table, name)
        assert all(value is not None for value in got), name  # warmed up: defined from the first bar
        assert np.allclose(got, want, rtol=1e-12, atol=1e-12), name
    assert all(0 <= value <= 100 for value in values(table, "ind:rsi:real") if value is not None)


async def test_indicators_at_the_start_of_history_are_null_until_defined(client, clean):
    await fetch(client, clean, MINUTES)
    _, table = await chart(
        client, indicators=["sma(30)"], **{"from": "2024-03-04", "to": "2024-03-04", "timeframe": "5m"}
    )
    got = values(table, "ind:sma(30):real")
    assert got[:29] == [None] * 29  # no earlier bars to warm up on
    assert all(value is not None and math.isfinite(value) for value in got[29:])


async def test_json_carries_the_indicator_series(client, clean):
    await fetch(client, clean, MINUTES)
    answer = await client.post(
        "/api/v1/stocks/chart-data",
        json={"symbol": "SLC", "timeframe": "1h", "indicators": ["ema(10)"]},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert len(body["series"]["ind:ema(10):real"]) == len(body["bars"])


async def test_bad_indicator_specs_are_422_with_the_reason(client, clean):
    await fetch(client, clean, MINUTES)
    for spec, reason in (
        ("nosuch(3)", "not a TA-Lib function"),
        ("sma(20, 3)", "at most 1 parameters"),
        ("sma(x)", "must be a number"),
        ("sma(2.5)", "whole number"),
        ("bbands(20,2,2,99)", "from 0 to 8"),
        ("rsi(1)", "from 2 to 10000"),
        ("macd(fast=3)", "has no parameter 'fast'"),
        ("__import__('os')", "is not of the form"),
    ):
        answer = await client.post("/api/v1/stocks/chart-data", json={"symbol": "SLC", "indicators": [spec]})
        assert answer.status_code == 422, spec
        assert reason in answer.json()["detail"], (spec, answer.json())


async def test_a_series_shorter_than_an_indicator_needs_answers_its_bars_in_words(client, clean):
    """No 422 and no empty guess: every value is null and the column says how many bars it needs."""
    await fetch(client, clean, MINUTES)
    for timeframe, spec in (("1w", "sma(10000)"), ("1M", "sma(6000)"), ("1d", "rsi(14)")):
        answer, table = await chart(client, symbol="SLC", timeframe=timeframe, indicators=[spec])
        assert answer.status_code == 200
        column = next(name for name in table.column_names if name.startswith("ind:"))
        assert values(table, column) == [None] * table.num_rows
        field = table.schema.field(column)
        needed = parse_indicator(spec).lookback + 1  # sma(n) needs n bars, rsi(n) n + 1
        assert field.metadata[b"k2q.min_bars"] == str(needed).encode()
        assert int(field.metadata[b"k2q.series_rows"]) == table.num_rows < needed
        assert field.metadata[b"k2q.stable_from"] == b""
