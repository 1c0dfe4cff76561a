"""Indicator series joined to chart slices: TA-Lib functions over the slice's own buckets.

A chart asks for indicators as short specs, ``sma(20)``, ``bbands(20,2,2)``, ``rsi`` (defaults), and
gets one column per output, named ``ind:<spec>:<output>``, computed over exactly the bars it draws
(so a weekly chart shows a 20-week average). Each is computed over a warm-up of earlier buckets
too, so the first drawn bars carry values: ``3 × lookback + 10`` buckets, which also lets
exponential smoothing settle.

Specs are parsed with a regular expression and looked up in TA-Lib's own function table; nothing
of the text is ever evaluated.

>>> parse_indicator("BBands(20, 2)").text
'bbands(20,2)'
>>> parse_indicator("macd").outputs
('macd', 'macdsignal', 'macdhist')
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any, Final, cast

import msgspec
import numpy as np
import pyarrow as pa
import talib
from talib import abstract as _abstract

from pipelines.errors import PipelineClientError

COLUMN_PREFIX: Final = "ind:"
MAX_PERIOD: Final = 10_000
"""Largest integer parameter accepted (periods longer than this are not chart indicators)."""

_SPEC: Final = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]{0,31})\s*(?:\(\s*([^()]{0,120})\s*\))?\s*$")
_NUMBER: Final = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_INPUTS: Final = ("open", "high", "low", "close", "volume")
_TALIB: Final = cast("Any", talib)
_FUNCTION: Final = cast("Any", _abstract).Function
"""TA-Lib's abstract API builds its functions at import time, out of a type checker's sight."""


class InvalidIndicator(PipelineClientError):
    """An indicator spec names no TA-Lib function or passes it bad parameters."""


class IndicatorSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A parsed indicator: the TA-Lib function, its parameters, outputs and warm-up."""

    text: str
    """The spec in canonical form (lower case, no spaces), as it appears in column names."""
    function: str
    params: dict[str, int | float]
    outputs: tuple[str, ...]
    overlay: bool
    """Drawn on the price scale (TA-Lib flags the output scale as the input's)."""
    lookback: int
    """Buckets TA-Lib needs before the first value."""
    group: str
    display_name: str

    @property
    def warmup(self) -> int:
        """Earlier buckets to compute over before the first drawn one."""
        return 3 * self.lookback + 10

    def column(self, output: str) -> str:
        """The slice column of one output."""
        return f"{COLUMN_PREFIX}{self.text}:{output}"


@functools.cache
def _functions() -> frozenset[str]:
    return frozenset(_TALIB.get_functions())


def parse_indicator(text: str) -> IndicatorSpec:
    """Parse ``name`` or ``name(arg, …)`` into a spec; arguments fill TA-Lib's parameters in order.

    Raises:
        InvalidIndicator: unknown function, too many or malformed arguments, or values out of range.
    """
    match = _SPEC.match(text)
    if match is None:
        raise InvalidIndicator(f"indicator {text[:60]!r} is not of the form name or name(arg, …)")
    name, args = match.group(1).upper(), match.group(2)
    if name not in _functions():
        raise InvalidIndicator(f"unknown indicator {match.group(1)!r}: not a TA-Lib function")
    function = _FUNCTION(name)
    unusable = _non_bar_inputs(function)
    if unusable:
        raise InvalidIndicator(
            f"{name.lower()} needs {', '.join(unusable)} as input, which is not a bar column"
            " (open, high, low, close, volume): it cannot be drawn on a chart"
        )
    defaults: dict[str, Any] = dict(function.parameters)
    values = [part.strip() for part in args.split(",")] if args and args.strip() else []
    if len(values) > len(defaults):
        raise InvalidIndicator(
            f"{name.lower()} takes at most {len(defaults)} parameters ({', '.join(defaults) or 'none'})"
        )
    params: dict[str, int | float] = {}
    for (param, default), raw in zip(defaults.items(), values, strict=False):
        params[param] = _parameter(name, param, default, raw)
    function.set_parameters(params)
    if function.lookback < 0:  # TA-Lib's answer to parameters outside its ranges
        given = ", ".join(f"{key}={value}" for key, value in params.items())
        raise InvalidIndicator(f"{name.lower()} does not accept {given}: a value is outside TA-Lib's range")
    info = function.info
    canonical = name.lower() + (f"({','.join(_format(v) for v in params.values())})" if params else "")
    return IndicatorSpec(
        text=canonical,
        function=name,
        params=params,
        outputs=tuple(function.output_names),
        overlay="Output scale same as input" in (info.get("function_flags") or []),
        lookback=int(function.lookback),
        group=str(info["group"]),
        display_name=str(info["display_name"]),
    )


def _non_bar_inputs(function: Any) -> list[str]:
    """The inputs of a TA-Lib function that are not OHLCV columns (MAVP's ``periods``)."""
    names: list[str] = []
    for value in function.input_names.values():
        names.extend(value if isinstance(value, list) else [value])
    return [name for name in names if name not in _INPUTS]


def compute(spec: IndicatorSpec, bars: pa.Table) -> dict[str, np.ndarray[Any, np.dtype[np.float64]]]:
    """Every output of ``spec`` over ``bars`` (OHLCV columns), NaN where it has no value yet."""
    inputs = {name: np.ascontiguousarray(bars.column(name).to_numpy(), dtype=np.float64) for name in _INPUTS}
    if bars.num_rows == 0:
        return {output: np.empty(0, np.float64) for output in spec.outputs}
    function = _FUNCTION(spec.function)
    result = function(inputs, **spec.params)
    arrays = result if isinstance(result, list) else [result]
    return {
        output: np.asarray(array, dtype=np.float64)
        for output, array in zip(spec.outputs, arrays, strict=True)
    }


def _parameter(function: str, name: str, default: Any, raw: str) -> int | float:
    if not _NUMBER.match(raw):
        raise InvalidIndicator(f"{function.lower()} parameter {name} must be a number, not {raw[:20]!r}")
    value = float(raw)
    if not math.isfinite(value):
        raise InvalidIndicator(f"{function.lower()} parameter {name} must be finite")
    if isinstance(default, int):
        if value != int(value) or not 0 <= value <= MAX_PERIOD:
            raise InvalidIndicator(
                f"{function.lower()} parameter {name} must be a whole number from 0 to {MAX_PERIOD}"
            )
        return int(value)
    return value


def _format(value: int | float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"
