"""Our own indicators (SVWAP, AVWAP, RET, LOGRET, ZSCORE, REALVOL) against naive loop references.

Each reference below is written the plain way, one bucket at a time over Python lists, with New
York dates from ``datetime.astimezone``; the vectorised code must agree with it to 1e-9 relative,
NaN for NaN, on seeded random series holding flat runs, zero-volume buckets, sessions of 1 to 960
buckets, the March 2024 DST change, and prices of 1e-4, 1e8 and both in one series.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any, cast

import msgspec
import numpy as np
import pytest
import talib

from pipelines.indicators.own import OWN, OwnContext, OwnInputs, bars_per_year
from schemas.values import NEW_YORK

Floats = np.ndarray[Any, np.dtype[np.float64]]

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MINUTE = 60_000
NAN = math.nan
INTRADAY = OwnContext(width="1m", session="extended")
DAILY = OwnContext(width="1d", session="regular")
SESSION_SIZES = (1, 2, 3, 17, 390, 960, 5, 700, 4)
"""Buckets per New York day of the random series, from 2024-03-07: the 4th day is the DST change."""
FIRST_DAY = dt.date(2024, 3, 7)
SCALES = {"tiny": 1e-4, "unit": 100.0, "huge": 1e8, "mixed": 0.0}
"""Price levels; ``mixed`` starts at 1e8 and drops to 1e-4 halfway."""


# --- naive references: plain loops over lists -------------------------------------------------


def ny_date(ms: int) -> dt.date:
    return (EPOCH + dt.timedelta(milliseconds=ms)).astimezone(NEW_YORK).date()


def ny_midnight_ms(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(), NEW_YORK).timestamp()) * 1000


def ref_vwap(bars: OwnInputs, *, daily: bool = False, anchor: dt.date | None = None) -> list[float]:
    """Session VWAP (resets each New York day, or each bucket when ``daily``), or anchored at ``anchor``."""
    ts, high, low, close, volume = (
        bars.ts.tolist(),
        bars.high.tolist(),
        bars.low.tolist(),
        bars.close.tolist(),
        bars.volume.tolist(),
    )
    out: list[float] = []
    weighted = total = 0.0
    session: object = None
    started = False
    for i in range(len(ts)):
        if anchor is not None:
            started = started or ny_date(ts[i]) >= anchor
            if not started:
                out.append(NAN)
                continue
        else:
            day: object = i if daily else ny_date(ts[i])
            if day != session:
                session, weighted, total = day, 0.0, 0.0
        weighted += (high[i] + low[i] + close[i]) / 3.0 * volume[i]
        total += volume[i]
        out.append(weighted / total if total != 0 else NAN)
    return out


def ref_ret(close: Sequence[float], *, log: bool) -> list[float]:
    out = [NAN]
    for i in range(1, len(close)):
        ratio = close[i] / close[i - 1]
        out.append(math.log(ratio) if log else ratio - 1.0)
    return out


def ref_zscore(close: Sequence[float], period: int) -> list[float]:
    out: list[float] = []
    for i in range(len(close)):
        if i < period - 1:
            out.append(NAN)
            continue
        window = close[i - period + 1 : i + 1]
        if max(window) == min(window):  # std 0
            out.append(NAN)
            continue
        mean = sum(window) / period
        std = math.sqrt(sum((v - mean) ** 2 for v in window) / period)
        out.append((close[i] - mean) / std)
    return out


def ref_rvol(close: Sequence[float], period: int, per_year: float) -> list[float]:
    returns = [NAN] + [math.log(close[i] / close[i - 1]) for i in range(1, len(close))]
    out: list[float] = []
    for i in range(len(close)):
        if i < period:
            out.append(NAN)
            continue
        window = returns[i - period + 1 : i + 1]
        if max(window) == min(window):  # std 0 exactly, not a rounding residue
            out.append(0.0)
            continue
        mean = sum(window) / period
        std = math.sqrt(sum((r - mean) ** 2 for r in window) / (period - 1))
        out.append(std * math.sqrt(per_year))
    return out


# --- series ------------------------------------------------------------------------------------


def random_bars(scale: str, seed: int = 7) -> OwnInputs:
    """1m buckets on nine New York days of SESSION_SIZES buckets, with flat runs and zero volumes."""
    rng = np.random.default_rng(seed)
    ts: list[int] = []
    for k, size in enumerate(SESSION_SIZES):
        midnight = ny_midnight_ms(FIRST_DAY + dt.timedelta(days=k))
        minutes = np.sort(rng.choice(23 * 60, size=size, replace=False))  # a DST day has 23 hours
        ts.extend(midnight + int(m) * MINUTE for m in minutes)
    n = len(ts)
    level = np.full(n, SCALES[scale])
    if scale == "mixed":
        level[: n // 2], level[n // 2 :] = 1e8, 1e-4
    close = level * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    close[200:260] = close[200]
    close[1500:1530] = close[1500]
    close[1600:1603] = close[1600]
    open_ = np.concatenate([close[:1], close[:-1]])
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0.0, 0.002, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0.0, 0.002, n)))
    volume = rng.integers(1, 1_000, n).astype(np.float64)
    volume[rng.random(n) < 0.1] = 0.0
    volume[:3] = 0.0  # the 1-bucket session and the 2-bucket one start with no volume
    volume[6:9] = 0.0  # …and so does the 17-bucket one
    volume[[9, 23]] = 500.0  # the 17-bucket day's first volume, the 390-bucket day's first bucket
    return OwnInputs(ts=np.array(ts, np.int64), open=open_, high=high, low=low, close=close, volume=volume)


def closes(values: Floats) -> OwnInputs:
    ts = np.arange(values.shape[0], dtype=np.int64) * 86_400_000
    return OwnInputs(ts=ts, open=values, high=values, low=values, close=values, volume=np.ones_like(values))


def run(name: str, bars: OwnInputs, context: OwnContext = INTRADAY, **params: int | dt.date) -> Floats:
    outputs = OWN[name].compute(bars, params, context)
    assert len(outputs) == len(OWN[name].outputs) == 1
    (values,) = outputs
    assert values.dtype == np.float64
    assert values.shape == bars.close.shape
    return values


def assert_matches(got: Floats, want: Sequence[float]) -> None:
    np.testing.assert_allclose(got, np.array(want), rtol=1e-9, atol=0, equal_nan=True)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(np.array(want)))


# --- the catalog -------------------------------------------------------------------------------


def test_names_are_upper_case_and_not_talib_functions() -> None:
    """TA-Lib has a VWAP (from the first bar, no sessions) and an RVOL (relative volume): ours differ."""
    talib_names = set(cast("Any", talib).get_functions())
    assert sorted(OWN) == ["AVWAP", "LOGRET", "REALVOL", "RET", "SVWAP", "ZSCORE"]
    assert all(name == name.upper() == OWN[name].name for name in OWN)
    assert not set(OWN) & talib_names


def test_descriptions() -> None:
    assert OWN["SVWAP"].overlay
    assert OWN["AVWAP"].overlay
    assert not any(OWN[name].overlay for name in ("RET", "LOGRET", "ZSCORE", "REALVOL"))
    assert OWN["SVWAP"].inputs == ("ts", "high", "low", "close", "volume")
    assert OWN["ZSCORE"].inputs == ("close",)
    (anchor,) = OWN["AVWAP"].parameters
    assert (anchor.name, anchor.type, anchor.default) == ("anchor", "date", None)
    for name in ("ZSCORE", "REALVOL"):
        (period,) = OWN[name].parameters
        described = (period.name, period.type, period.default, period.minimum, period.maximum)
        assert described == ("timeperiod", "integer", 20, 2, 100_000)
    assert OWN["SVWAP"].parameters == OWN["RET"].parameters == OWN["LOGRET"].parameters == ()


def test_lookback_is_the_first_value() -> None:
    bars = random_bars("unit", seed=11)
    bars = msgspec.structs.replace(bars, volume=bars.volume + 1.0)
    params: dict[str, dict[str, int | dt.date]] = {
        "SVWAP": {},
        "AVWAP": {"anchor": FIRST_DAY},
        "RET": {},
        "LOGRET": {},
        "ZSCORE": {"timeperiod": 20},
        "REALVOL": {"timeperiod": 30},
    }
    lookbacks = {name: OWN[name].lookback(params[name]) for name in OWN}
    assert lookbacks == {"SVWAP": 0, "AVWAP": 0, "RET": 1, "LOGRET": 1, "ZSCORE": 19, "REALVOL": 30}
    assert OWN["ZSCORE"].lookback({}) == 19
    for name in OWN:
        values = run(name, bars, **params[name])
        assert int(np.flatnonzero(~np.isnan(values))[0]) == lookbacks[name], name


# --- against the references --------------------------------------------------------------------


@pytest.mark.parametrize("scale", SCALES)
def test_svwap(scale: str) -> None:
    bars = random_bars(scale)
    got = run("SVWAP", bars)
    assert_matches(got, ref_vwap(bars))
    # No volume yet in the session: the 1-bucket day, the 2-bucket day, the 17-bucket day's first 3.
    assert np.isnan(got[:3]).all()
    assert np.isnan(got[6:9]).all()
    assert not np.isnan(got[9])


@pytest.mark.parametrize("scale", SCALES)
def test_svwap_daily_buckets_are_their_own_sessions(scale: str) -> None:
    bars = random_bars(scale)
    got = run("SVWAP", bars, DAILY)
    assert_matches(got, ref_vwap(bars, daily=True))
    typical = (bars.high + bars.low + bars.close) / 3.0
    np.testing.assert_array_equal(got, np.where(bars.volume != 0, typical, NAN))


@pytest.mark.parametrize("scale", SCALES)
def test_avwap(scale: str) -> None:
    bars = random_bars(scale)
    anchor = FIRST_DAY + dt.timedelta(days=4)
    got = run("AVWAP", bars, anchor=anchor)
    assert_matches(got, ref_vwap(bars, anchor=anchor))
    first = sum(SESSION_SIZES[:4])
    assert np.isnan(got[:first]).all()
    assert ny_date(int(bars.ts[first - 1])) < anchor == ny_date(int(bars.ts[first]))
    assert not np.isnan(got[first:]).any()  # the anchor day's first bucket has volume


@pytest.mark.parametrize("scale", SCALES)
def test_returns(scale: str) -> None:
    bars = random_bars(scale)
    for name, log in (("RET", False), ("LOGRET", True)):
        got = run(name, bars)
        assert_matches(got, ref_ret(bars.close.tolist(), log=log))
        assert np.isnan(got[0])
        assert not np.isnan(got[1:]).any()
        assert (got[201:260] == 0.0).all()


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("period", [2, 3, 20, 57])
def test_zscore(scale: str, period: int) -> None:
    bars = random_bars(scale)
    got = run("ZSCORE", bars, timeperiod=period)
    assert_matches(got, ref_zscore(bars.close.tolist(), period))
    assert np.isnan(got[: period - 1]).all()
    assert not np.isinf(got).any()
    # Windows inside the flat run 200..259 have std 0: NaN, not inf.
    assert np.isnan(got[200 + period - 1 : 260]).all()
    assert not np.isnan(got[260])


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("period", [2, 3, 20, 57])
def test_realvol(scale: str, period: int) -> None:
    bars = random_bars(scale)
    got = run("REALVOL", bars, timeperiod=period)
    assert_matches(got, ref_rvol(bars.close.tolist(), period, bars_per_year("1m", "extended")))
    assert np.isnan(got[:period]).all()
    assert not np.isnan(got[period:]).any()
    # Windows of the flat run's returns (201..259 are 0): no volatility.
    assert (got[200 + period : 260] == 0.0).all()
    assert got[260] > 0.0


def test_long_periods() -> None:
    """Periods of thousands of bars (summed with np.cumsum rather than row by row)."""
    rng = np.random.default_rng(3)
    period = 2_500
    values = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, period + 80)))
    values[period + 40 :] = values[period + 40]
    bars = closes(values)
    assert_matches(run("ZSCORE", bars, timeperiod=period), ref_zscore(values.tolist(), period))
    assert_matches(run("REALVOL", bars, DAILY, timeperiod=period), ref_rvol(values.tolist(), period, 252.0))


def test_short_series_have_no_values() -> None:
    bars = closes(np.array([1.0, 2.0, 3.0]))
    assert np.isnan(run("ZSCORE", bars, timeperiod=4)).all()
    assert np.isnan(run("REALVOL", bars, timeperiod=3)).all()
    empty = closes(np.empty(0))
    for name in OWN:
        params: dict[str, int | dt.date] = {"anchor": FIRST_DAY} if name == "AVWAP" else {}
        assert run(name, empty, **params).shape == (0,)


# --- sessions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "offsets"),
    [(dt.date(2024, 3, 10), (-5, -5, -4)), (dt.date(2024, 11, 3), (-4, -4, -5))],
    ids=["spring-forward", "fall-back"],
)
def test_svwap_resets_at_new_york_midnight_across_dst(day: dt.date, offsets: tuple[int, int, int]) -> None:
    """1m buckets from 23:00 New York the day before the change to 01:30 the day after."""
    midnights = [dt.datetime.combine(day + dt.timedelta(days=k), dt.time(), dt.UTC) for k in (-1, 0, 1)]
    utc_midnights = [
        int((m - dt.timedelta(hours=h)).timestamp()) * 1000 for m, h in zip(midnights, offsets, strict=True)
    ]
    assert utc_midnights == [ny_midnight_ms(day + dt.timedelta(days=k)) for k in (-1, 0, 1)]
    start = utc_midnights[0] - 60 * MINUTE
    ts = np.arange(start, utc_midnights[2] + 90 * MINUTE, MINUTE, dtype=np.int64)
    rng = np.random.default_rng(5)
    close = 100.0 + np.cumsum(rng.normal(0.0, 0.1, ts.shape[0]))
    volume = rng.integers(1, 100, ts.shape[0]).astype(np.float64)
    bars = OwnInputs(ts=ts, open=close, high=close + 0.05, low=close - 0.05, close=close, volume=volume)
    got = run("SVWAP", bars)
    assert_matches(got, ref_vwap(bars))
    typical = (bars.high + bars.low + bars.close) / 3.0
    resets = np.flatnonzero(np.isclose(got, typical, rtol=1e-13, atol=0))
    expected = [0, *(int(np.searchsorted(ts, m)) for m in utc_midnights)]
    assert resets.tolist() == expected
    # The wrong offset's midnight (an hour off on the last day) is no reset.
    wrong = utc_midnights[2] - (offsets[1] - offsets[2]) * 3_600_000
    assert int(np.searchsorted(ts, wrong)) not in resets


def test_avwap_anchor_on_a_dst_day() -> None:
    day = dt.date(2024, 3, 10)
    ts = np.arange(
        ny_midnight_ms(day) - 30 * MINUTE, ny_midnight_ms(day) + 30 * MINUTE, MINUTE, dtype=np.int64
    )
    values = np.linspace(10.0, 20.0, ts.shape[0])
    bars = OwnInputs(ts=ts, open=values, high=values, low=values, close=values, volume=np.ones_like(values))
    got = run("AVWAP", bars, anchor=day)
    assert np.isnan(got[:30]).all()
    assert got[30] == pytest.approx(values[30], rel=1e-15)
    assert_matches(got, ref_vwap(bars, anchor=day))
    assert not np.isnan(run("AVWAP", bars, anchor=day - dt.timedelta(days=1))).any()
    assert np.isnan(run("AVWAP", bars, anchor=day + dt.timedelta(days=1))).all()


def test_avwap_needs_an_anchor() -> None:
    with pytest.raises(ValueError, match="anchor"):
        OWN["AVWAP"].compute(random_bars("unit"), {}, INTRADAY)


# --- annualisation -----------------------------------------------------------------------------


def test_bars_per_year() -> None:
    assert bars_per_year("1d", "regular") == bars_per_year("1d", "extended") == 252
    assert bars_per_year("1w", "regular") == 52
    assert bars_per_year("1M", "regular") == 12
    assert bars_per_year("3M", "regular") == 4
    assert bars_per_year("12M", "regular") == 1
    assert bars_per_year("5m", "regular") == 252 * 78
    assert bars_per_year("5m", "extended") == 252 * 192
    assert bars_per_year("1m", "regular") == 252 * 390
    assert bars_per_year("1h", "regular") == 252 * 6.5
    assert bars_per_year("4h", "extended") == 252 * 4
    for width, session in (("5x", "regular"), ("m", "regular"), ("0m", "regular"), ("1d", "overnight")):
        with pytest.raises(ValueError, match="not a"):
            bars_per_year(width, session)


def test_realvol_annualisation() -> None:
    """Log returns alternating ±a: every 2-return window has sample std a√2."""
    a = 0.01
    values = np.exp(np.cumsum([0.0] + [a, -a] * 20))
    bars = closes(values)
    daily = run("REALVOL", bars, DAILY, timeperiod=2)
    five = run("REALVOL", bars, OwnContext(width="5m", session="regular"), timeperiod=2)
    np.testing.assert_allclose(daily[2:], a * math.sqrt(2) * math.sqrt(252), rtol=1e-9)
    np.testing.assert_allclose(five[2:], a * math.sqrt(2) * math.sqrt(252 * 78), rtol=1e-9)
    assert np.isnan(daily[:2]).all()
    assert np.isnan(five[:2]).all()
