"""The strategy language: every construct parsed, every value against TA-Lib, NumPy or a hand count.

Values are checked on a small seeded random walk of daily bars (and on hand-written series where
the answer is counted by hand); errors by line, column, what was expected and the suggestion.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import talib
from numpy.lib.stride_tricks import sliding_window_view

from pipelines.indicators.own import OwnContext
from pipelines.indicators.specs import BucketSeries, compute, parse_indicator, stable_index
from pipelines.strategies.language.errors import StrategyError
from pipelines.strategies.language.evaluate import (
    IndicatorCache,
    StrategyInputs,
    evaluate,
    evaluate_expression,
    resolve_params,
    warmup_bars,
)
from pipelines.strategies.language.syntax import (
    Argument,
    Arithmetic,
    Boolean,
    Call,
    Compare,
    Date,
    Lag,
    Logical,
    Name,
    Negate,
    Not,
    Number,
    Power,
    Select,
    parse_expression,
    parse_node,
    parse_program,
    render,
)
from pipelines.strategies.signals import Signals

N = 80
DAY_MS = 86_400_000
DAILY = OwnContext(width="1d", session="regular")
DOCS = Path(__file__).parents[3] / "docs" / "strategy-language.md"
NAN = math.nan


def make_bars(close: Any, *, seed: int = 7) -> BucketSeries:
    close = np.asarray(close, dtype=np.float64)
    n = close.shape[0]
    rng = np.random.default_rng(seed)
    open_ = np.concatenate([close[:1], close[:-1]])
    spread = np.abs(rng.normal(0, 0.01, n)) * np.nan_to_num(close, nan=1.0)
    return BucketSeries(
        ts=np.arange(n, dtype=np.int64) * DAY_MS + 1_704_153_600_000,
        open=open_,
        high=np.fmax(open_, close) + spread,
        low=np.fmin(open_, close) - spread,
        close=close,
        volume=rng.integers(1_000, 5_000, n).astype(np.float64),
    )


WALK = make_bars(100 * np.exp(np.cumsum(np.random.default_rng(2024).normal(0, 0.02, N))))
INPUTS = StrategyInputs(bars=WALK, context=DAILY)


def run(code: str, params: dict[str, float] | None = None, inputs: StrategyInputs = INPUTS) -> Signals:
    return evaluate(parse_program(code), inputs, params or {})


def values(expression: str, inputs: StrategyInputs = INPUTS, params: dict[str, float] | None = None) -> Any:
    """The per-bar values of ``expression`` (named ``x`` in a strategy that always enters)."""
    return run(f"x = {expression}\nlong_entry = true", params, inputs).series["x"]


def on(close: list[float]) -> StrategyInputs:
    return StrategyInputs(bars=make_bars(close), context=DAILY)


def same(actual: Any, expected: Any) -> None:
    np.testing.assert_allclose(
        actual, np.asarray(expected, dtype=np.float64), rtol=1e-12, atol=1e-12, equal_nan=True
    )


def problem(code: str, *, expression: bool = False) -> Any:
    with pytest.raises(StrategyError) as caught:
        parse_expression(code) if expression else parse_program(code)
    return caught.value.problems[0]


# --- syntax ------------------------------------------------------------------------------------


def strip(node: Any) -> Any:
    """A node as nested tuples without positions, to compare trees."""
    if isinstance(node, Number | Boolean | Date):
        return (type(node).__name__, node.value)
    if isinstance(node, Name):
        return ("Name", node.name)
    if isinstance(node, Call):
        return ("Call", node.function, tuple((a.keyword, strip(a.value)) for a in node.arguments))
    if isinstance(node, Select):
        return ("Select", strip(node.target), node.output)
    if isinstance(node, Lag):
        return ("Lag", strip(node.target), strip(node.bars))
    if isinstance(node, Negate | Not):
        return (type(node).__name__, strip(node.operand))
    if isinstance(node, Arithmetic):
        return ("Arithmetic", strip(node.first), tuple((op, strip(v)) for op, v in node.rest))
    if isinstance(node, Power):
        return ("Power", strip(node.base), strip(node.exponent))
    if isinstance(node, Compare):
        return ("Compare", node.op, strip(node.left), strip(node.right))
    assert isinstance(node, Logical)
    return ("Logical", node.op, tuple(strip(o) for o in node.operands))


def n(value: float) -> Any:
    return ("Number", value)


def name(text: str) -> Any:
    return ("Name", text)


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("20", n(20.0)),
        (".5", n(0.5)),
        ("2.", n(2.0)),
        ("1.5E-3", n(0.0015)),
        ("true", ("Boolean", True)),
        ("false", ("Boolean", False)),
        ("2024-03-01", ("Date", "2024-03-01")),
        ("close", name("close")),
        ("not_yet", name("not_yet")),
        ("android", name("android")),
        ("sma(close, 20)", ("Call", "sma", ((None, name("close")), (None, n(20.0))))),
        ("rsi()", ("Call", "rsi", ())),
        ("macd(close, fastperiod=8,)", ("Call", "macd", ((None, name("close")), ("fastperiod", n(8.0))))),
        ("macd(close).signal", ("Select", ("Call", "macd", ((None, name("close")),)), "signal")),
        ("close[1]", ("Lag", name("close"), n(1.0))),
        ("close[-1]", ("Lag", name("close"), ("Negate", n(1.0)))),
        ("close[1][2]", ("Lag", ("Lag", name("close"), n(1.0)), n(2.0))),
        ("-close", ("Negate", name("close"))),
        ("not a", ("Not", name("a"))),
        ("a - b + c", ("Arithmetic", name("a"), (("-", name("b")), ("+", name("c"))))),
        ("a / b * c", ("Arithmetic", name("a"), (("/", name("b")), ("*", name("c"))))),
        ("a + b * c", ("Arithmetic", name("a"), (("+", ("Arithmetic", name("b"), (("*", name("c")),))),))),
        ("(a + b) * c", ("Arithmetic", ("Arithmetic", name("a"), (("+", name("b")),)), (("*", name("c")),))),
        ("2 ** 3 ** 2", ("Power", n(2.0), ("Power", n(3.0), n(2.0)))),
        ("-x ** 2", ("Negate", ("Power", name("x"), n(2.0)))),
        ("x ** -1", ("Power", name("x"), ("Negate", n(1.0)))),
        ("a <= b", ("Compare", "<=", name("a"), name("b"))),
        ("a != b", ("Compare", "!=", name("a"), name("b"))),
        ("a or b and c", ("Logical", "or", (name("a"), ("Logical", "and", (name("b"), name("c")))))),
        ("a and b and c", ("Logical", "and", (name("a"), name("b"), name("c")))),
        ("not a > b", ("Not", ("Compare", ">", name("a"), name("b")))),
        ("a > b == c > d", None),
    ],
)
def test_every_construct_parses_into_its_node(text: str, tree: Any) -> None:
    if tree is None:
        with pytest.raises(StrategyError, match="comparisons do not chain"):
            parse_node(text)
        return
    node = parse_node(text)
    assert strip(node) == tree
    assert strip(parse_node(render(node))) == tree


def test_nodes_carry_their_line_and_column() -> None:
    program = parse_program("# a comment\n\nfast = param(10)\nlong_entry = close > sma(close, fast)\n")
    fast, entry = program.statements
    assert (fast.line, fast.column, entry.line, entry.column) == (3, 1, 4, 1)
    assert isinstance(entry.value, Compare)
    call = entry.value.right
    assert isinstance(call, Call)
    assert (call.line, call.column) == (4, 22)
    assert call.arguments[1] == Argument(
        keyword=None, value=Name(name="fast", line=4, column=33), line=4, column=33
    )


def test_lines_continue_inside_brackets_and_comments_and_crlf_are_ignored() -> None:
    program = parse_program(
        "long_entry = (close >  # a comment (with brackets\r\n"
        "    sma(close,\r\n"
        "        20))\r\n"
        "\r\n"
        "long_exit = close[\n1\n] > close  # trailing\n\n"
    )
    assert program.rules == ["long_entry", "long_exit"]
    assert render(program.statements[0].value) == "close > sma(close, 20)"


def test_render_is_canonical() -> None:
    assert render(parse_node("sma( close ,20)>=  -(open-close)/2**-1 or not(a and b)")) == (
        "sma(close, 20) >= -(open - close) / 2 ** -1 or not (a and b)"
    )
    assert render(parse_node("a - (b - c)")) == "a - (b - c)"
    assert render(parse_node("(a - b) - c")) == "a - b - c"
    assert render(parse_node("(2 ** 3) ** 2")) == "(2 ** 3) ** 2"
    assert render(parse_node("(-2) ** 2")) == "(-2) ** 2"
    assert render(parse_node("(a < b) == (c < d)")) == "(a < b) == (c < d)"
    assert render(parse_node("1e20 + 0.1 + 1e-7")) == "1e+20 + 0.1 + 1e-07"


def test_a_program_reports_its_parameters_rules_and_series() -> None:
    program = parse_program(
        "fast = param(10, min=2, max=100)\n"
        "band = param(2.5, min=0.5)\n"
        "stop_loss = param(5, min=1, max=20)\n"
        "trend = ema(close, 50)\n"
        "up = close > trend\n"
        "long_entry = up and close > bbands(close, fast, band, band).upper\n"
        "size = 0.5\n"
    )
    assert [(p.name, p.default, p.minimum, p.maximum, p.integer) for p in program.parameters] == [
        ("fast", 10, 2, 100, True),
        ("band", 2.5, 0.5, None, False),
        ("stop_loss", 5, 1, 20, True),
    ]
    assert program.rules == ["stop_loss", "long_entry", "size"]
    assert program.series_names == ["trend", "up"]


def test_the_documentation_examples_parse() -> None:
    text = DOCS.read_text()
    strategies = re.findall(r"```strategy\n(.*?)```", text, re.S)
    screens = re.findall(r"```screen\n(.*?)```", text, re.S)
    assert len(strategies) >= 4
    assert len(screens) >= 2
    for code in strategies:
        evaluate(parse_program(code), INPUTS, {})
    for code in screens:
        evaluate_expression(parse_expression(code), INPUTS, {})


# --- values ------------------------------------------------------------------------------------

C, H, L, OPEN, V = WALK.close, WALK.high, WALK.low, WALK.open, WALK.volume


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("close", C),
        ("hl2", (H + L) / 2),
        ("hlc3", (H + L + C) / 3),
        ("ohlc4", (OPEN + H + L + C) / 4),
        ("sma(close, 3)", talib.SMA(C, 3)),
        ("sma(3)", talib.SMA(C, 3)),
        ("sma(close, timeperiod=3)", talib.SMA(C, 3)),
        ("ema(open, 5)", talib.EMA(OPEN, 5)),
        ("rsi(14)", talib.RSI(C, 14)),
        ("rsi(close, 14)", talib.RSI(C, 14)),
        ("atr(14)", talib.ATR(H, L, C, 14)),
        ("atr(high, low, close, 14)", talib.ATR(H, L, C, 14)),
        ("atr(low, low, close, 14)", talib.ATR(L, L, C, 14)),
        ("sma(rsi(close, 14), 5)", talib.SMA(talib.RSI(C, 14), 5)),
        ("macd(close, 12, 26, 9).signal", talib.MACD(C, 12, 26, 9)[1]),
        ("macd(close, 12, 26, 9).macdsignal", talib.MACD(C, 12, 26, 9)[1]),
        ("macd(close, fastperiod=8).hist", talib.MACD(C, 8, 26, 9)[2]),
        ("macd(close).macd", talib.MACD(C)[0]),
        ("bbands(close, 20, 2, 2, matype=ema).upper", talib.BBANDS(C, 20, 2, 2, matype=1)[0]),
        ("bbands(close, 10, 1.5, 2.5, 2).lowerband", talib.BBANDS(C, 10, 1.5, 2.5, matype=2)[2]),
        ("stoch().k", talib.STOCH(H, L, C)[0]),
        ("stoch(high, low, close).slowd", talib.STOCH(H, L, C)[1]),
        ("correl(close, volume, 10)", talib.CORREL(C, V, 10)),
        ("obv()", talib.OBV(C, V)),
        ("sma(close - open, 4)", talib.SMA(C - OPEN, 4)),
        ("zscore(10)", compute(parse_indicator("zscore(10)"), WALK, DAILY)[0]),
        ("avwap(2024-01-20)", compute(parse_indicator("avwap(2024-01-20)"), WALK, DAILY)[0]),
        ("vwap", compute(parse_indicator("svwap"), WALK, DAILY)[0]),
        ("close[1]", np.concatenate([[NAN], C[:-1]])),
        ("close[3]", np.concatenate([[NAN] * 3, C[:-3]])),
        ("close[-2]", np.concatenate([C[2:], [NAN] * 2])),
        ("close[0]", C),
        (f"close[{N}]", np.full(N, NAN)),
        (f"close[-{N + 5}]", np.full(N, NAN)),
        ("sma(close, 3)[2]", np.concatenate([[NAN] * 2, talib.SMA(C, 3)[:-2]])),
        ("highest(close, 5)", talib.MAX(C, 5)),
        ("lowest(close, 5)", talib.MIN(C, 5)),
        ("mean(close, 5)", talib.SMA(C, 5)),
        ("std(close, 5)", talib.STDDEV(C, 5, 1)),
        ("abs(close - open)", np.abs(C - OPEN)),
        ("min(close, open)", np.minimum(C, OPEN)),
        ("max(close, 100)", np.maximum(C, 100)),
        ("-close + 2 * open - high / low", -C + 2 * OPEN - H / L),
        ("close ** 2 ** 0.5", C ** (2**0.5)),
        ("2 + 3 * 4 ** 2 / 8", np.full(N, 8.0)),
        ("-2 ** 2", np.full(N, -4.0)),
        ("2 ** 3 ** 2", np.full(N, 512.0)),
        ("abs(-3) + min(1, 2) * max(5, 4)", np.full(N, 8.0)),
    ],
)
def test_values_equal_talib_and_numpy(expression: str, expected: Any) -> None:
    same(values(expression), expected)


def windows(series: Any, size: int, reduce: Any) -> Any:
    out = np.full(series.shape[0], NAN)
    out[size - 1 :] = reduce(sliding_window_view(series, size), axis=1)
    return out


@pytest.mark.parametrize("size", [1, 2, 3, 7, N])
def test_rolling_windows_equal_numpy(size: int) -> None:
    np.testing.assert_allclose(values(f"highest(close, {size})"), windows(C, size, np.max), equal_nan=True)
    np.testing.assert_allclose(values(f"lowest(close, {size})"), windows(C, size, np.min), equal_nan=True)
    np.testing.assert_allclose(values(f"mean(close, {size})"), windows(C, size, np.mean), equal_nan=True)
    np.testing.assert_allclose(
        values(f"std(close, {size})"), windows(C, size, np.std), rtol=1e-6, atol=1e-9, equal_nan=True
    )
    assert np.isnan(values(f"highest(close, {N + 1})")).all()


def test_a_window_holding_a_nan_is_nan() -> None:
    close = [1.0, 5.0, 2.0, NAN, 4.0, 3.0, 6.0, 1.0, NAN, NAN, 2.0, 8.0, 7.0]
    inputs = on(close)
    series = np.asarray(close)

    def reference(reduce: Any) -> Any:
        out = windows(series, 3, reduce)
        return np.where(np.isnan(windows(series, 3, np.sum)), NAN, out)

    same(values("highest(close, 3)", inputs), reference(np.max))
    same(values("lowest(close, 3)", inputs), reference(np.min))
    same(values("mean(close, 3)", inputs), reference(np.mean))
    np.testing.assert_allclose(values("std(close, 3)", inputs), reference(np.std), atol=1e-9, equal_nan=True)
    same(values("highest(close, 1)", inputs), series)
    same(values("std(close, 1)", inputs), np.where(np.isnan(series), NAN, 0.0))
    # NaN only in front (an indicator's warm-up): TA-Lib's own start, the same windows
    same(values("highest(sma(close, 3), 2)", INPUTS), talib.MAX(talib.SMA(C, 3), 2))


def test_crossover_and_crossunder_on_a_hand_series() -> None:
    inputs = on([1, 2, 3, 2, 1, 2, 3, 3, 1])
    #             0  1  2  3  4  5  6  7  8
    assert np.flatnonzero(run("long_entry = crossover(close, 2)", inputs=inputs).long_entry).tolist() == [
        2,
        6,
    ]
    assert np.flatnonzero(run("long_entry = crossunder(close, 2)", inputs=inputs).long_entry).tolist() == [
        4,
        8,
    ]
    # TradingView's definition: touching (2 then 3) counts, both bars must have values
    assert np.flatnonzero(run("long_entry = crossover(2.5, close)", inputs=inputs).long_entry).tolist() == [
        3,
        8,
    ]
    gappy = on([3, 1, NAN, 3, 1, 3])
    assert np.flatnonzero(run("long_entry = crossover(close, 2)", inputs=gappy).long_entry).tolist() == [5]
    lagged = run("long_entry = crossover(close, close[1])", inputs=inputs).long_entry
    assert np.flatnonzero(lagged).tolist() == [5]


def test_nan_semantics() -> None:
    inputs = on([1, 0, 2, 0, 3])
    same(values("1 / close", inputs), [1, NAN, 0.5, NAN, 1 / 3])
    same(values("close / close", inputs), [1, NAN, 1, NAN, 1])
    same(values("close ** 5000", inputs), [1, 0, NAN, 0, NAN])  # overflow is NaN, never inf
    same(values("1e308 * 10 + close", inputs), [NAN] * 5)
    same(values("9 ** 9 ** 9 ** 9 + close", inputs), [NAN] * 5)
    same(values("(-8) ** (1 / 3) + close", inputs), [NAN] * 5)
    same(values("min(close, 1 / close)", inputs), [1, NAN, 0.5, NAN, 1 / 3])
    for op in ("<", "<=", ">", ">=", "==", "!="):
        holds = run(f"long_entry = 1 / close {op} 1", inputs=inputs).long_entry
        assert not holds[1], op
        assert not holds[3], op
    assert run("long_entry = not (1 / close > 0)", inputs=inputs).long_entry.tolist() == [
        False,
        True,
        False,
        True,
        False,
    ]
    lag = run("up = close > 0\nlong_entry = up[2]", inputs=inputs)
    assert lag.long_entry.tolist() == [False, False, True, False, True]
    assert lag.series["up"].tolist() == [1, 0, 1, 0, 1]


def test_booleans_and_constants() -> None:
    signals = run("flag = true\nk = 3 > 2\nlong_entry = flag and k\nshort_entry = close > open or false")
    assert signals.long_entry.all()
    assert signals.short_entry.tolist() == (C > OPEN).tolist()
    assert signals.series["flag"].tolist() == [1.0] * N
    assert run("long_entry = false").long_entry.sum() == 0


def test_signals_hold_every_rule() -> None:
    signals = run(
        "long_entry = close > open\nlong_exit = close < open\n"
        "short_entry = crossunder(close, sma(close, 5))\n"
        "short_exit = false\nstop_loss = 5\ntake_profit = atr(14) / close * 100 * 2\n"
        "trailing_stop = close - open\nsize = 0.25\nmid = hl2"
    )
    assert signals.long_entry.dtype == np.bool_
    assert signals.long_entry.shape == (N,)
    assert signals.long_exit.tolist() == (C < OPEN).tolist()
    assert not signals.short_exit.any()
    same(signals.stop_loss, np.full(N, 5.0))
    same(signals.take_profit, talib.ATR(H, L, C, 14) / C * 100 * 2)
    same(signals.trailing_stop, np.where(C - OPEN > 0, C - OPEN, NAN))  # not above 0: no stop on that bar
    same(signals.size, np.full(N, 0.25))
    assert not signals.size_in_units
    assert list(signals.series) == ["mid"]


def test_rules_not_given_default_to_false_and_none() -> None:
    signals = run("short_entry = close > open")
    assert not signals.long_entry.any()
    assert not signals.long_exit.any()
    assert not signals.short_exit.any()
    for percent in (signals.stop_loss, signals.take_profit, signals.trailing_stop, signals.size):
        assert np.isnan(percent).all()
    assert signals.series == {}


def test_size_as_units_and_as_a_series() -> None:
    units = run("long_entry = true\nsize = units(100)")
    assert units.size_in_units
    same(units.size, np.full(N, 100.0))
    per_bar = run("long_entry = true\nsize = units(close - open)")
    same(per_bar.size, C - OPEN)  # the engine skips entries sized zero or less
    fraction = run("long_entry = true\nsize = (close - open) / open * 50")
    same(fraction.size, (C - OPEN) / OPEN * 50)  # and commits all equity above 1


# --- parameters --------------------------------------------------------------------------------

PARAMETERS = parse_program(
    "fast = param(10, min=2, max=100)\nratio = param(0.5, min=0, max=1)\nlag = param(1, min=-5, max=5)\n"
    "long_entry = sma(close, fast)[lag] > sma(close, fast * 2) * ratio"
)


def test_resolve_params_fills_the_defaults_and_takes_overrides() -> None:
    assert resolve_params(PARAMETERS, {}) == {"fast": 10, "ratio": 0.5, "lag": 1}
    assert resolve_params(PARAMETERS, {"fast": 12, "ratio": 0.25}) == {"fast": 12, "ratio": 0.25, "lag": 1}
    assert resolve_params(PARAMETERS, {"fast": 2.0, "lag": -5}) == {"fast": 2, "ratio": 0.5, "lag": -5}


@pytest.mark.parametrize(
    ("overrides", "message", "suggestion"),
    [
        ({"fsat": 12}, "the strategy has no parameter 'fsat' — did you mean fast?", "fast"),
        ({"slow": 12}, "the strategy has no parameter 'slow' (it declares fast, ratio, lag)", None),
        ({"fast": 101}, "parameter fast must be from 2 to 100, not 101", None),
        ({"fast": 1}, "parameter fast must be from 2 to 100, not 1", None),
        ({"fast": 12.5}, "parameter fast must be a whole number, not 12.5", None),
        ({"ratio": NAN}, "parameter ratio must be a finite number, not nan", None),
        ({"ratio": math.inf}, "parameter ratio must be a finite number, not inf", None),
        ({"ratio": True}, "parameter ratio must be a finite number, not True", None),
    ],
)
def test_resolve_params_refuses_bad_overrides(
    overrides: dict[str, float], message: str, suggestion: str | None
) -> None:
    with pytest.raises(StrategyError) as caught:
        resolve_params(PARAMETERS, overrides)
    (found,) = caught.value.problems
    assert (found.message, found.line, found.column, found.suggestion) == (message, 0, 0, suggestion)
    assert str(caught.value) == message


def test_parameters_drive_periods_lags_and_values() -> None:
    signals = evaluate(PARAMETERS, INPUTS, {"fast": 12, "lag": -2, "ratio": 0.9})
    slow, fast = talib.SMA(C, 24) * 0.9, talib.SMA(C, 12)
    expected = np.concatenate([fast[2:], [NAN, NAN]]) > slow
    assert signals.long_entry.tolist() == expected.tolist()


def test_a_parameter_value_the_catalog_refuses_is_an_error_at_the_call() -> None:
    program = parse_program("period = param(10, min=0, max=20)\nlong_entry = close > sma(close, period - 5)")
    with pytest.raises(StrategyError) as caught:
        evaluate(program, INPUTS, {"period": 5})
    found = caught.value.problems[0]
    assert (found.line, found.column) == (2, 22)
    assert "sma parameter timeperiod must be a whole number from 1 to 10000, not 0" in found.message
    window = parse_program("n = param(5, min=0, max=20000)\nlong_entry = close > highest(close, n)")
    with pytest.raises(
        StrategyError, match="highest's window must be a whole number from 1 to 10,000, not 20000"
    ):
        evaluate(window, INPUTS, {"n": 20_000})
    lag = parse_program("n = param(1, min=-20000, max=20000)\nlong_entry = close > close[n]")
    with pytest.raises(
        StrategyError, match="a lag must be a whole number from -10,000 to 10,000, not -10001"
    ):
        evaluate(lag, INPUTS, {"n": -10_001})


def test_rules_can_be_parameters() -> None:
    program = parse_program(
        "long_entry = true\nstop_loss = param(5, min=0, max=20)\nsize = param(0.5, max=1)"
    )
    assert program.rules == ["long_entry", "stop_loss", "size"]
    assert [p.name for p in program.parameters] == ["stop_loss", "size"]
    signals = evaluate(program, INPUTS, {"stop_loss": 0, "size": 0.25})
    assert np.isnan(signals.stop_loss).all()  # 0: no stop
    same(signals.size, np.full(N, 0.25))


# --- screens, warm-up, cache ---------------------------------------------------------------------


def test_evaluate_expression_gives_the_condition_and_its_terms() -> None:
    expression = parse_expression(
        "rsi(close, 14) < level and (close > sma(close, 20) or crossover(close, ema(close, 5))) and 1 < 2",
        {"level": 60},
    )
    assert expression.parameters == ("level",)
    assert expression.terms == [
        "rsi(close, 14)",
        "close",
        "sma(close, 20)",
        "crossover(close, ema(close, 5))",
    ]
    holds, terms = evaluate_expression(expression, INPUTS, {"level": 60})
    rsi, sma, ema = talib.RSI(C, 14), talib.SMA(C, 20), talib.EMA(C, 5)
    crossed = np.concatenate([[False], (C[1:] > ema[1:]) & (C[:-1] <= ema[:-1])])
    assert holds.tolist() == ((rsi < 60) & ((C > sma) | crossed)).tolist()
    same(terms["rsi(close, 14)"], rsi)
    same(terms["close"], C)
    same(terms["crossover(close, ema(close, 5))"], crossed.astype(float))
    with pytest.raises(StrategyError, match="the expression reads parameter 'level'"):
        evaluate_expression(expression, INPUTS, {})


def test_a_screen_reads_parameters_only_from_its_request() -> None:
    found = problem("close > levle", expression=True)
    assert (found.message, found.suggestion) == ("unknown name 'levle'", None)
    assert parse_expression("close > level", {"level": 1}).parameters == ("level",)
    with pytest.raises(StrategyError, match="parameter 'close' is a price series"):
        parse_expression("close > 1", {"close": 1})
    with pytest.raises(StrategyError, match=r"true/false per bar .* not a number series"):
        parse_expression("sma(close, 20)")
    with pytest.raises(StrategyError, match="line 1, column 3: unexpected '='"):
        parse_expression("x = close > 1")


@pytest.mark.parametrize(
    ("expression", "warmup"),
    [
        ("close > 1", 0),
        ("close > sma(close, 20)", 19),
        ("close > sma(close, 20)[5]", 24),
        ("close[-5] > 1", 0),
        ("highest(sma(close, 10), 5) > 1", 13),
        ("crossover(close, sma(close, 10))", 10),
        ("sma(rsi(close, 14), 5) > 1", stable_index(parse_indicator("rsi(14)")) + 4),
        ("ema(close, 20) > 1", stable_index(parse_indicator("ema(20)"))),
        ("close > sma(close, n)", 29),
    ],
)
def test_warmup_bars_sums_along_each_nesting(expression: str, warmup: int) -> None:
    assert warmup_bars(parse_expression(expression, {"n": 30}), {"n": 30}) == warmup


def test_warmup_bars_of_a_program_is_its_longest() -> None:
    program = parse_program(
        "n = param(10)\nslow = sma(close, n * 3)\nlong_entry = close > slow[2]\nx = mean(close, 4)"
    )
    assert warmup_bars(program, {}) == 31
    assert warmup_bars(program, {"n": 20}) == 61


def test_the_cache_computes_each_distinct_indicator_once() -> None:
    program = parse_program(
        "fast = param(10)\nup = crossover(sma(close, fast), sma(close, 30))\n"
        "long_entry = up and sma(close, fast) > ema(close + 1, 5)\n"
        "short_entry = highest(close, fast) < ema(1 + close, 5)"
    )
    cache = IndicatorCache()
    first = evaluate(program, INPUTS, {}, cache)
    # sma(close, 10), sma(close, 30), ema(close + 1, 5), ema(1 + close, 5) and highest(close, 10)
    assert len(cache) == 5
    evaluate(program, INPUTS, {"fast": 12}, cache)
    assert len(cache) == 7  # sma(close, 12) and highest(close, 12) are new
    again = evaluate(program, INPUTS, {}, cache)
    assert len(cache) == 7
    assert again.long_entry.tolist() == first.long_entry.tolist()
    assert again.short_entry.tolist() == first.short_entry.tolist()
    other = StrategyInputs(bars=make_bars(C[::-1].copy()), context=DAILY)
    reversed_ = evaluate(program, other, {}, cache)
    assert len(cache) == 5  # other bars: emptied first
    assert reversed_.long_entry.tolist() == evaluate(program, other, {}).long_entry.tolist()


def test_the_cache_keys_values_by_what_they_are_computed_from() -> None:
    cache = IndicatorCache()
    program = parse_program("k = param(1)\nx = sma(close + k, 3)\ny = sma(open + k, 3)\nlong_entry = true")
    one = evaluate(program, INPUTS, {}, cache)
    two = evaluate(program, INPUTS, {"k": 2}, cache)
    same(one.series["x"], talib.SMA(C + 1, 3))
    same(one.series["y"], talib.SMA(OPEN + 1, 3))
    same(two.series["x"], talib.SMA(C + 2, 3))
    same(two.series["y"], talib.SMA(OPEN + 2, 3))
    named = parse_program("base = close * 2\nx = sma(base, 3)\nlong_entry = true")
    evaluate(named, INPUTS, {}, cache)
    entries = len(cache)
    evaluate(parse_program("x = sma(close * 2, 3)\nlong_entry = true"), INPUTS, {}, cache)
    assert len(cache) == entries  # the same computation, whatever it is called


def test_no_bars_give_empty_signals() -> None:
    empty = StrategyInputs(bars=WALK.tail(N), context=DAILY)
    signals = run(
        "long_entry = crossover(sma(close, 3), close[1]) and highest(close, 2) > vwap\nx = rsi(14)",
        inputs=empty,
    )
    assert signals.long_entry.shape == (0,)
    assert signals.series["x"].shape == (0,)


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "line", "column", "message", "expected"),
    [
        (
            "long_entry = close >\n    open",
            1,
            21,
            "unexpected end of the line; expected a number, a name or '('",
            None,
        ),
        ("long_entry = (close > open", 1, 27, "unexpected end of the text; expected ')'", ["')'"]),
        ("long_entry = sma(close, 20]", 1, 27, "unexpected ']'; expected ')' or ','", ["')'", "','"]),
        ("long_entry = close[1)", 1, 21, "unexpected ')'; expected ']'", None),
        ("long_entry = a < b < c", 1, 20, "comparisons do not chain", None),
        ("long_entry = close = open", 1, 20, "compare with ==", None),
        ("close > open", 1, 7, "unexpected '>'; expected '='", None),
        ("x = 1\n\n  y 2", 3, 5, "unexpected '2'; expected '='", None),
        ("lambda: 1", 1, 7, "unexpected character ':'; expected '='", ["'='"]),
        ("long_entry = close > 'a'", 1, 22, "(the language has no strings)", None),
        (
            "long_entry = close > 1 +",
            1,
            25,
            "unexpected end of the text; expected a number, a name or '('",
            None,
        ),
        ("long_entry = close $ 1", 1, 20, "unexpected character '$'", None),
    ],
)
def test_syntax_errors_say_where_and_what_was_expected(
    code: str, line: int, column: int, message: str, expected: list[str] | None
) -> None:
    found = problem(code)
    assert (found.line, found.column) == (line, column), found.message
    assert message in found.message
    if expected is not None:
        assert found.expected == expected


@pytest.mark.parametrize(
    ("code", "line", "column", "message", "suggestion"),
    [
        ("long_entry = rsii(close, 14) < 30", 1, 14, "unknown name 'rsii' — did you mean rsi?", "rsi"),
        ("long_entry = close > opne", 1, 22, "unknown name 'opne' — did you mean open?", "open"),
        ("long_entry = close > SMA(close, 5)", 1, 22, "unknown name 'SMA' — did you mean sma?", "sma"),
        ("fast = 3\nlong_entry = close > fsat", 2, 22, "unknown name 'fsat' — did you mean fast?", "fast"),
        (
            "long_entry = close > sma(close, period=5)",
            1,
            33,
            "sma has no parameter 'period' — did you mean timeperiod?",
            "timeperiod",
        ),
        (
            "long_entry = macd(close).sig > 0",
            1,
            26,
            "macd has no output 'sig' — did you mean signal?",
            "signal",
        ),
        (
            "long_entry = close > bbands(close, matype=emma).upper",
            1,
            43,
            "unknown name 'emma' — did you mean ema?",
            "ema",
        ),
        ("longentry = close > open", 1, 1, "did you mean long_entry?", "long_entry"),
        ("long_entry = close > xyzzy", 1, 22, "unknown name 'xyzzy'", None),
    ],
)
def test_unknown_names_suggest_the_closest(
    code: str, line: int, column: int, message: str, suggestion: str | None
) -> None:
    found = problem(code)
    assert (found.line, found.column, found.suggestion) == (line, column, suggestion)
    assert message in found.message


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("long_entry = sma(close, 20)", "long_entry must be true/false per bar, not a number series"),
        ("long_entry = 1", "long_entry must be true/false per bar, not a number"),
        (
            "long_entry = true\nlong_exit = close - open",
            "long_exit must be true/false per bar, not a number series",
        ),
        (
            "long_entry = close > sma(close, close)",
            "sma takes 1 series (close) or none (the bars' own), not 2",
        ),
        (
            "long_entry = close > macd(close, 12, close)",
            "macd's slowperiod must be a number or a parameter, not a number series",
        ),
        ("long_entry = close > sma(close, 5, 6)", "sma takes at most 1 parameter (timeperiod)"),
        ("long_entry = close > atr(close, 14)", "atr takes 3 series (high, low, close) or none"),
        (
            "long_entry = close > sma(close > open, 14)",
            "sma's input must be a number series, not true/false per bar",
        ),
        (
            "long_entry = close > macd(close)",
            "macd has 3 outputs: select one, e.g. macd(close).signal (.macd, .signal, .hist)",
        ),
        ("long_entry = close.signal > 1", "close has no outputs to select (.signal)"),
        (
            "long_entry = close > sma(close, 0)",
            "sma parameter timeperiod must be a whole number from 1 to 10000, not 0",
        ),
        (
            "long_entry = close > bbands(close, matype=9).upper",
            "bbands parameter matype must be a moving-average type",
        ),
        (
            "long_entry = close > sma(close, matype=ema)",
            "sma has no parameter 'matype' (it takes timeperiod)",
        ),
        (
            "long_entry = close > sma(close, ema)",
            "sma's timeperiod must be a number: ema names a moving-average type",
        ),
        (
            "long_entry = close > ema",
            "ema is a moving-average type here only as the value of a matype parameter",
        ),
        ("long_entry = close > rsi", "rsi is a function: call it, rsi(…)"),
        (
            "long_entry = close > zscore(close, 10)",
            "zscore computes over the bars only: it takes no series arguments",
        ),
        ("long_entry = close > avwap()", "avwap needs anchor (anchor, a date), e.g. avwap(2024-01-02)"),
        ("long_entry = close > avwap(5)", "avwap's anchor must be a date such as 2024-03-01"),
        ("long_entry = close > avwap(1066-10-14)", "avwap parameter anchor must be a date from"),
        ("long_entry = close > 2024-03-01", "a date (2024-03-01) is only the value of a date parameter"),
        ("long_entry = close > 2024-13-01", "2024-13-01 is not a date"),
        ("long_entry = close > mavp(close, close)", "mavp is not available in strategies"),
        ("long_entry = close > vwap()", "vwap is a price series, not a function"),
        ("long_entry = close > sma(timeperiod=5, close)", "sma: a positional argument follows a named one"),
        ("long_entry = close > sma(close, timeperiod=5, timeperiod=6)", "sma's timeperiod is given twice"),
        (
            "long_entry = close > highest(close, 0)",
            "highest's window must be a whole number from 1 to 10,000, not 0",
        ),
        (
            "long_entry = close > mean(close, 2.5)",
            "mean's window must be a whole number from 1 to 10,000, not 2.5",
        ),
        ("long_entry = close > std(3, 2)", "std's first argument must be a number series, not a number"),
        (
            "long_entry = close > highest(close, close)",
            "highest's window must be a number or a parameter, not a number series",
        ),
        (
            "long_entry = close > close[10001]",
            "a lag must be a whole number from -10,000 to 10,000, not 10001",
        ),
        ("long_entry = close > close[close]", "a lag must be a number or a parameter, not a number series"),
        ("fast = 3\nlong_entry = fast[1] > 2", "only a series can be lagged; fast is a number"),
        ("long_entry = crossover(1, 2)", "crossover needs a series on at least one side"),
        ("long_entry = crossover(close, 2, 3)", "crossover takes 2 arguments (a, b), not 3"),
        ("long_entry = crossover(a=close, b=2)", "crossover takes no named arguments"),
        ("long_entry = 1 and true", "and needs true/false values, but 1 is a number"),
        ("long_entry = not close", "not needs true/false values, but close is a number series"),
        ("long_entry = -not (close > 1)", "not is a keyword and cannot stand here"),
        ("long_entry = close > -and", "and is a keyword and cannot stand here"),
        ("long_entry = (close > open) * 2 > 1", "'*' needs numbers, but close > open is true/false per bar"),
        ("long_entry = (close > open) > 0", "'>' needs numbers, but close > open is true/false per bar"),
        ("long_entry = close > fast\nfast = param(5)", "fast is used before it is assigned (line 2)"),
        ("long_entry = long_entry[1]", "long_entry is used in its own definition"),
        ("long_entry = long_exit", "long_exit is a rule this strategy does not assign"),
        ("x = 5\nx = 6\nlong_entry = true", "x is already assigned (line 1): each name is assigned once"),
        ("close = 5\nlong_entry = true", "close is a price series: choose another name"),
        ("sma = 5\nlong_entry = true", "sma is an indicator: choose another name"),
        ("max = 5\nlong_entry = true", "max is a built-in function: choose another name"),
        ("true = 5\nlong_entry = true", "true is a keyword: choose another name"),
        ("x = close\nlong_entry = x(5) > 1", "x is a name this strategy assigns, not a function"),
        ("fast = param(5, min=10)\nlong_entry = true", "fast's default 5 is outside its range (min=10)"),
        ("fast = param(5, min=10, max=1)\nlong_entry = true", "fast's min 10 is above its max 1"),
        (
            "fast = param(5, 2, 10)\nlong_entry = true",
            "param takes one default value, then min= and max= by name",
        ),
        (
            "fast = param(close)\nlong_entry = true",
            "param's values are numbers written out (10, -5, 0.5), not close",
        ),
        ("fast = param(min=1)\nlong_entry = true", "param needs a default value"),
        ("fast = param(1, step=1)\nlong_entry = true", "param has no step="),
        (
            "long_entry = true\nx = 2 * param(5)",
            "param(…) is only the whole right-hand side of an assignment",
        ),
        ("long_entry = true\nx = units(5)", "units(…) is only the whole right-hand side of size"),
        ("long_entry = true\nstop_loss = -5", "stop_loss must be a percent above 0, not -5"),
        (
            "long_entry = true\ntake_profit = close > open",
            "take_profit must be a percent (a number or a number series)",
        ),
        ("long_entry = true\nsize = 2", "size must be a fraction of equity above 0 and at most 1"),
        ("long_entry = true\nsize = units(0)", "units must be above 0, not 0"),
        ("long_exit = close > open", "a strategy assigns long_entry or short_entry"),
        ("", "a strategy assigns long_entry or short_entry"),
    ],
)
def test_type_and_name_errors(code: str, message: str) -> None:
    assert message in problem(code).message


def test_checking_goes_on_after_a_bad_statement_without_cascading() -> None:
    with pytest.raises(StrategyError) as caught:
        parse_program("a = rsii(14)\nb = a + 1\nlong_entry = b > 1\nc = close > sma(close, 0)\nd = nope")
    problems = caught.value.problems
    assert [(p.line, p.column) for p in problems] == [(1, 5), (4, 13), (5, 5)]
    assert (
        str(caught.value) == "line 1, column 5: unknown name 'rsii' — did you mean rsi? (and 2 more problems)"
    )


def test_the_error_is_a_client_error_and_pickles() -> None:
    import pickle

    from pipelines.errors import PipelineClientError

    with pytest.raises(PipelineClientError) as caught:
        parse_program("long_entry = clos > 1")
    assert isinstance(caught.value, StrategyError)
    again = pickle.loads(pickle.dumps(caught.value))
    assert again.problems == caught.value.problems
    assert str(again) == str(caught.value)


def test_programs_and_expressions_copy_by_parsing_again() -> None:
    import copy
    import pickle

    program = parse_program("fast = param(5)\nlong_entry = crossover(close, sma(close, fast))")
    for again in (pickle.loads(pickle.dumps(program)), copy.deepcopy(program)):
        assert again == program
        assert (
            evaluate(again, INPUTS, {}).long_entry.tolist()
            == evaluate(program, INPUTS, {}).long_entry.tolist()
        )
    expression = parse_expression("rsi(close, n) < 50", {"n": 3})
    again = pickle.loads(pickle.dumps(expression))
    assert again == expression
    assert evaluate_expression(again, INPUTS, {"n": 3})[0].tolist() == (talib.RSI(C, 3) < 50).tolist()
