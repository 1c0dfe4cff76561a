"""Value types: symbols, bar widths, time points."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.bars import ChartDataRequest
from schemas.datasets import FetchRequest
from schemas.values import BarWidth, normalize_symbol, parse_series_code, parse_time_point, series_code


@pytest.mark.parametrize("raw", ["aapl", "BRK.A", "x:btcusd", "I:SPX", "brk-b"])
def test_symbols_are_normalised(raw):
    assert normalize_symbol(raw) == raw.upper()


@pytest.mark.parametrize("raw", ["", "AAPL;", "../etc", "A B", "Ä", "X" * 21, "'; DROP TABLE bars; --"])
def test_bad_symbols_are_refused(raw):
    with pytest.raises(ValueError, match="ticker"):
        normalize_symbol(raw)


@given(
    st.integers(1, 999),
    st.sampled_from(["second", "minute", "hour", "day", "week", "month", "quarter", "year"]),
)
def test_series_codes_round_trip(multiplier, timespan):
    assert parse_series_code(series_code(multiplier, timespan)) == (multiplier, timespan)


def test_widths_tile():
    assert BarWidth.of("1m").divides(BarWidth.of("1h"))
    assert BarWidth.of("1d").divides(BarWidth.of("1w"))
    assert BarWidth.of("1d").divides(BarWidth.of("1M"))
    assert not BarWidth.of("1w").divides(BarWidth.of("1M"))
    assert not BarWidth.of("7m").divides(BarWidth.of("1h"))
    assert BarWidth.of("1M").divides(BarWidth.of("1y"))


def test_time_points():
    utc = dt.UTC
    assert parse_time_point("2024-03-10") == dt.datetime(2024, 3, 10, tzinfo=utc)
    assert parse_time_point("2024-03-10", end_of_day=True) == dt.datetime(
        2024, 3, 10, 23, 59, 59, 999000, tzinfo=utc
    )
    assert parse_time_point("2024-03-10T09:30:00-04:00") == dt.datetime(2024, 3, 10, 13, 30, tzinfo=utc)
    assert parse_time_point("2024-03-10T09:30:00Z") == dt.datetime(2024, 3, 10, 9, 30, tzinfo=utc)
    assert parse_time_point("2024-03-10T09:30") == dt.datetime(2024, 3, 10, 9, 30, tzinfo=utc)
    assert parse_time_point(1710063000000) == dt.datetime(2024, 3, 10, 9, 30, tzinfo=utc)
    assert parse_time_point("1710063000000") == dt.datetime(2024, 3, 10, 9, 30, tzinfo=utc)
    for bad in ("yesterday", "2024-02-30", True, 10**18):
        with pytest.raises(ValueError, match=r"ISO-8601|epoch|must be|supported times"):
            parse_time_point(bad)
    for outside in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "1969-12-31", -1, "2100-01-01"):
        with pytest.raises(
            ValueError, match=r"outside the supported times, 1970-01-01 to 2099-12-31 \(UTC\)"
        ):
            parse_time_point(outside)
    assert parse_time_point("2099-12-31", end_of_day=True) == dt.datetime(
        2099, 12, 31, 23, 59, 59, 999000, tzinfo=utc
    )


def test_requests_validate():
    request = msgspec.convert(
        {"symbols": ["msft", "aapl", "MSFT"], "from": "2024-01-01", "to": "2024-02-01"}, FetchRequest
    )
    assert request.symbols == ["AAPL", "MSFT"]
    with pytest.raises(msgspec.ValidationError, match="before"):
        msgspec.convert({"symbols": ["A"], "from": "2024-02-01", "to": "2024-01-01"}, FetchRequest)
    assert msgspec.convert({"symbol": "demo"}, ChartDataRequest).symbol == "DEMO"
