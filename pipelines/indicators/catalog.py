"""The indicator catalog: every TA-Lib function (from its abstract API) and ours, as the picker lists them.

TA-Lib describes each function (group, display name, inputs, outputs and their plot flags,
parameters with defaults) but not the valid range of a parameter; that is read from TA-Lib
itself: a value outside the range makes its lookback -1. Reference levels (RSI 30/70 …) are the
conventional ones, written here.

>>> info("RSI").levels, info("RSI").pane
([30.0, 70.0], 'own')
>>> info("CDLDOJI").pane, info("EMA").unstable
('markers', True)
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final, cast

import numpy as np
import talib
from talib import _ta_lib as _ta_lib_module
from talib import abstract as _abstract

from pipelines.indicators.own import OWN, OwnIndicator
from schemas.indicators import IndicatorInfo, IndicatorOutput, IndicatorParameter, ParameterType, Plot

MAX_PERIOD: Final = 10_000
"""Largest integer parameter accepted (periods longer than this are not chart indicators)."""
OWN_GROUP: Final = "K2 Quant"
BAR_INPUTS: Final = ("open", "high", "low", "close", "volume")

_TALIB: Final = cast("Any", talib)
Floats = np.ndarray[Any, np.dtype[np.float64]]
_TA_LIB: Final = cast("Any", _ta_lib_module)
_FUNCTION: Final = cast("Any", _abstract).Function
"""TA-Lib's abstract API builds its functions at import time, out of a type checker's sight."""
_UNBOUNDED: Final = 1e37
"""TA-Lib marks an unbounded real parameter with ±3e37."""

_TYPES: Final[Mapping[int, ParameterType]] = MappingProxyType({0: "number", 2: "integer", 3: "ma_type"})
"""TA-Lib's parameter type codes (real, integer, MA type) by kind."""

_PLOTS: Final[Mapping[str, Plot]] = MappingProxyType(
    {"Line": "line", "Dashed Line": "dashed", "Dotted Line": "dotted", "Histogram": "histogram"}
)

LEVELS: Final[Mapping[str, tuple[float, ...]]] = MappingProxyType(
    {
        "RSI": (30.0, 70.0),
        "STOCH": (20.0, 80.0),
        "STOCHF": (20.0, 80.0),
        "STOCHRSI": (20.0, 80.0),
        "MFI": (20.0, 80.0),
        "ULTOSC": (30.0, 70.0),
        "WILLR": (-80.0, -20.0),
        "CCI": (-100.0, 100.0),
        "CMO": (-50.0, 50.0),
        "ADX": (25.0,),
        "ADXR": (25.0,),
        **{
            name: (0.0,)
            for name in (
                "MACD", "MACDEXT", "MACDFIX", "MOM", "ROC", "APO", "PPO", "TRIX", "AROONOSC",
                "ADOSC", "BOP", "ZSCORE", "RET", "LOGRET",
            )
        },
    }
)  # fmt: skip
"""Reference levels drawn in an oscillator's pane."""


def function(name: str) -> Any:
    """A fresh TA-Lib abstract function (they hold parameters: never share one between threads)."""
    return _FUNCTION(name)


@functools.cache
def talib_names() -> frozenset[str]:
    """Every TA-Lib function name (201 in ta-lib 0.8.2)."""
    return frozenset(_TALIB.get_functions())


def input_columns(fn: Any) -> list[str]:
    """The columns a TA-Lib function reads (``price`` inputs read ``close``; MAVP also ``periods``)."""
    names: list[str] = []
    for value in fn.input_names.values():
        names.extend(value if isinstance(value, list) else [value])
    return names


def run_talib(
    name: str, inputs: Sequence[str], columns: Mapping[str, Floats], params: Mapping[str, Any]
) -> list[Floats]:
    """TA-Lib's function ``name`` over ``columns`` (its ``inputs``, in order); each output as float64."""
    result = getattr(_TALIB, name)(*(columns[column] for column in inputs), **params)
    return [
        np.asarray(values, dtype=np.float64)
        for values in (result if isinstance(result, tuple | list) else [result])
    ]


@functools.cache
def info(name: str) -> IndicatorInfo:
    """The catalog entry of ``name`` (TA-Lib's upper-case name, or ours).

    Raises:
        KeyError: no such indicator.
    """
    if name in OWN:
        return _own_info(OWN[name])
    if name not in talib_names():
        raise KeyError(name)
    fn = function(name)
    raw = fn.info
    flags = list(raw.get("function_flags") or [])
    inputs = input_columns(fn)
    outside = [column for column in inputs if column not in BAR_INPUTS]
    candle = "Output is a candlestick" in flags
    overlay = "Output scale same as input" in flags
    outputs = [
        IndicatorOutput(name=output, plot="markers" if candle else _plot(flags_of))
        for output, flags_of in raw["output_flags"].items()
    ]
    parameters = [
        _parameter(name, index, default) for index, default in enumerate(raw["parameters"].values())
    ]
    lookback = int(fn.lookback)
    settles = settling(name, ()) if not outside else 0
    return IndicatorInfo(
        name=name,
        group=str(raw["group"]),
        display_name=str(raw["display_name"]),
        source="ta-lib",
        parameters=parameters,
        inputs=inputs,
        outputs=outputs,
        overlay=overlay,
        pane="markers" if candle else "price" if overlay else "own",
        lookback=lookback,
        unstable=settles > 0,
        stable_after=lookback + settles,
        levels=list(LEVELS.get(name, ())),
        chartable=not outside,
        note=(
            f"needs {', '.join(outside)} as input, which is not a bar column (open, high, low, close, volume)"
            if outside
            else None
        ),
        example=name.lower(),
    )


def _plot(flags: list[str]) -> Plot:
    for flag in flags:
        if flag in _PLOTS:
            return _PLOTS[flag]
    return "line"


def _parameter(name: str, index: int, default: Any) -> IndicatorParameter:
    raw = _TA_LIB._ta_getOptInputParameterInfo(name.encode(), index)
    kind = _TYPES.get(int(raw["type"]), "number")
    key = str(raw["name"])
    minimum, maximum = _range(name, key, kind, default)
    return IndicatorParameter(
        name=key,
        display_name=str(raw["display_name"]),
        type=kind,
        default=default,
        minimum=minimum,
        maximum=maximum,
        help=str(raw["help"] or ""),
    )


def _accepts(name: str, parameter: str, value: float) -> bool:
    fn = function(name)
    fn.set_parameters({parameter: value})
    return int(fn.lookback) >= 0


def _range(name: str, parameter: str, kind: ParameterType, default: Any) -> tuple[float | None, float | None]:
    """The valid range of one parameter, found by asking TA-Lib which values it accepts."""
    if kind == "ma_type":
        return 0.0, 8.0
    if kind == "integer":
        first = next((v for v in range(0, 6) if _accepts(name, parameter, v)), int(default))
        last = MAX_PERIOD if _accepts(name, parameter, MAX_PERIOD) else int(default)
        return float(first), float(last)
    lows = [v for v in (-3e37, -1.0, 0.0, 0.01) if _accepts(name, parameter, v)]
    highs = [v for v in (3e37, 1.0, 0.99) if _accepts(name, parameter, v)]
    low = lows[0] if lows else None
    high = highs[0] if highs else None
    return (
        None if low is None or low <= -_UNBOUNDED else low,
        None if high is None or high >= _UNBOUNDED else high,
    )


def _own_info(indicator: OwnIndicator) -> IndicatorInfo:
    defaults = {p.name: p.default for p in indicator.parameters if p.default is not None}
    lookback = indicator.lookback(cast("Any", defaults)) if len(defaults) == len(indicator.parameters) else 0
    example_args = ",".join("2024-01-02" for p in indicator.parameters if p.default is None)
    return IndicatorInfo(
        name=indicator.name,
        group=OWN_GROUP,
        display_name=indicator.display_name,
        source="k2q",
        parameters=list(indicator.parameters),
        inputs=list(indicator.inputs),
        outputs=[IndicatorOutput(name=output, plot="line") for output in indicator.outputs],
        overlay=indicator.overlay,
        pane="price" if indicator.overlay else "own",
        lookback=lookback,
        unstable=False,
        stable_after=lookback,
        levels=list(LEVELS.get(indicator.name, ())),
        example=indicator.name.lower() + (f"({example_args})" if example_args else ""),
    )


@functools.cache
def catalog() -> tuple[IndicatorInfo, ...]:
    """Every indicator: TA-Lib's by group and name, then ours."""
    talib_infos = sorted((info(name) for name in talib_names()), key=lambda i: (i.group, i.name))
    return (*talib_infos, *(info(name) for name in sorted(OWN)))


@functools.lru_cache(maxsize=2048)
def settling(name: str, params: tuple[tuple[str, Any], ...]) -> int:
    """Buckets after TA-Lib function ``name``'s first value until where the series starts stops showing.

    Measured, not assumed (TA-Lib flags EMA as unstable but not MACD, which smooths with EMAs):
    the function runs over a seeded random walk and over the same walk without its first bars,
    and the values have settled where the two runs agree within a millionth of the values' scale, to the
    end. Moving averages over a window settle at once (0); exponential smoothing takes a multiple
    of its period. A function whose runs never agree (a running total such as OBV, whose level
    is counted from the first bar) is 0 too: its values are exact from the series' first bar on.
    """
    fn = function(name)
    fn.set_parameters(dict(params))
    lookback = int(fn.lookback)
    periods = [int(v) for k, v in fn.parameters.items() if "period" in k and isinstance(v, int)]
    horizon = min(200_000, lookback + max(2_000, 60 * max(periods, default=30)))
    columns = _walk(horizon)
    drop = lookback + 1
    inputs = input_columns(fn)
    full = run_talib(name, inputs, columns, dict(params))
    later = run_talib(name, inputs, {c: values[drop:] for c, values in columns.items()}, dict(params))
    differs = np.zeros(horizon - drop, dtype=bool)
    for whole, b in zip(full, later, strict=True):
        a = whole[drop:]
        scale = float(np.nanmedian(np.abs(a))) if np.isfinite(a).any() else 1.0
        with np.errstate(invalid="ignore"):
            differs |= ~(np.abs(a - b) <= 1e-6 * max(scale, 1e-12)) & ~(np.isnan(a) & np.isnan(b))
    changed = np.flatnonzero(differs[lookback:])
    if not changed.size or changed[-1] >= len(differs) - lookback - 10:
        return 0
    return int(changed[-1]) + 1


def _walk(n: int) -> dict[str, Floats]:
    rng = np.random.default_rng(20240301)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    spread = np.abs(rng.normal(0, 0.005, n)) * close
    open_ = np.concatenate([[close[0]], close[:-1]])
    return {
        "open": open_,
        "high": np.maximum(open_, close) + spread,
        "low": np.minimum(open_, close) - spread,
        "close": close,
        "volume": rng.integers(1_000, 100_000, n).astype(np.float64),
    }
