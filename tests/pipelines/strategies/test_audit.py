"""The look-ahead audit: clean strategies pass bit for bit on every prefix; a peek is found at its bar."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.indicators.own import OwnContext
from pipelines.indicators.specs import BucketSeries
from pipelines.strategies.audit import audit, cut_points, trace_for
from pipelines.strategies.language.evaluate import StrategyInputs, evaluate
from pipelines.strategies.language.syntax import parse_program

CLEAN = """\
fast = param(8, min=2, max=50)
trend = ema(close, 50)
lower = bbands(close, 20, 2, 2).lower
momentum = macd(close, 12, 26, 9).hist
long_entry = crossover(sma(close, fast), trend) and rsi(close, 14) < 70 and close > lower
long_exit = crossunder(close, highest(close, 20)[1] * 0.97) or momentum < -1
short_entry = close < lowest(low, 30)[1] and std(close, 10) > mean(std(close, 10), 50)
short_exit = close > vwap
stop_loss = 3
trailing_stop = atr(14) / close * 100 * 3
size = 0.5
"""


@pytest.fixture(scope="module")
def inputs() -> StrategyInputs:
    rng = np.random.default_rng(7)
    n = 3000
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate([[100.0], close[:-1]]) * (1 + rng.normal(0, 0.002, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
    ts = 1_600_000_000_000 + np.arange(n, dtype=np.int64) * 86_400_000
    bars = BucketSeries(ts=ts, open=open_, high=high, low=low, close=close, volume=rng.uniform(1e5, 1e6, n))
    return StrategyInputs(bars=bars, context=OwnContext(width="1d", session="extended"))


def _audit(code: str, inputs: StrategyInputs):
    program = parse_program(code)
    trace = trace_for(len(inputs.bars))
    evaluate(program, inputs, {}, trace=trace)
    return audit(program, inputs, {}, trace)


def test_a_clean_strategy_keeps_every_value_on_every_prefix(inputs: StrategyInputs) -> None:
    result = _audit(CLEAN, inputs)
    assert result.cut_points == cut_points(3000) == [750, 1500]
    assert result.uses_future_data is False
    assert result.first_offending_bar is None


@pytest.mark.parametrize(
    ("code", "lead", "where"),
    [
        ("long_entry = close[-1] > close", 1, "line 1, column 14: close[-1]"),
        ("x = sma(close, 5)[-3]\nlong_entry = crossover(x, close)", 3, "line 1, column 5: sma(close, 5)[-3]"),
        ("long_entry = crossover(close, mean(close[-2], 3))", 2, "line 1, column 36: close[-2]"),
    ],
)
def test_a_strategy_reading_later_bars_is_flagged_at_the_first_bar_that_moves(
    inputs: StrategyInputs, code: str, lead: int, where: str
) -> None:
    result = _audit(code, inputs)
    assert result.uses_future_data is True
    assert result.first_offending_bar == result.cut_points[0] - lead
    assert result.first_offending_time is not None
    assert int(result.first_offending_time.timestamp() * 1000) == inputs.bars.ts[result.cut_points[0] - lead]
    assert result.rule == where


def test_a_read_far_ahead_is_found_at_the_first_bar_it_moves(inputs: StrategyInputs) -> None:
    result = _audit("long_entry = close[-2500] > close", inputs)  # bars 0-499 see bars 2500-2999
    assert result.uses_future_data is True
    assert result.first_offending_bar == 0
    assert result.rule == "line 1, column 14: close[-2500]"


def test_short_series_are_not_replayed(inputs: StrategyInputs) -> None:
    short = StrategyInputs(bars=BucketSeries(**{k: getattr(inputs.bars, k)[:9] for k in
                                                ("ts", "open", "high", "low", "close", "volume")}),
                           context=inputs.context)  # fmt: skip
    assert _audit("long_entry = close[-1] > close", short).cut_points == []
