"""Indicator specs: parse ``sma(20)``, ``macd(fastperiod=8, slowperiod=21)``, ``avwap(2024-03-01)``.

A spec names a catalog indicator (:mod:`pipelines.indicators.catalog`: a TA-Lib function or one
of ours) with parameters by position, by name, or both (positional first). Its canonical text —
lower case, positional, defaults filled in up to the last parameter given — is the key of its
stored outputs and of its chart columns, ``ind:<text>:<output>``. Nothing of the text is ever
evaluated: it is matched by a regular expression and each value checked against the parameter's
type and range.

This is the one module that parses and computes indicators: chart joins, calculation jobs and the
strategy language all call :func:`parse_indicator` and :func:`compute`.

>>> parse_indicator("BBands(20, 2)").text
'bbands(20,2)'
>>> parse_indicator("macd(fastperiod=8, slowperiod=21)").text
'macd(8,21)'
>>> parse_indicator("macd(signalperiod=5)").text
'macd(12,26,5)'
>>> parse_indicator("macd").outputs
('macd', 'macdsignal', 'macdhist')
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Mapping
from typing import Any, Final, cast

import msgspec
import numpy as np
import pyarrow as pa

from pipelines.errors import PipelineClientError
from pipelines.indicators.catalog import BAR_INPUTS, function, info, run_talib, settling, talib_names
from pipelines.indicators.own import OWN, OwnContext, OwnInputs
from schemas.indicators import MA_TYPES, IndicatorParameter, Pane, Plot
from schemas.values import FIRST_DAY, LAST_DAY

COLUMN_PREFIX: Final = "ind:"

_SPEC: Final = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]{0,31})\s*(?:\(\s*([^()]{0,160})\s*\))?\s*$")
_NAMED: Final = re.compile(r"^([A-Za-z_][A-Za-z0-9_]{0,31})\s*=\s*(.*)$")
_NUMBER: Final = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Values = np.ndarray[Any, np.dtype[np.float64]]
ParamValue = int | float | str
"""An integer, a number, or a date as ISO text (``2024-03-01``)."""


class InvalidIndicator(PipelineClientError):
    """An indicator spec names no catalog indicator or passes it bad parameters."""


class IndicatorSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A parsed indicator: the function, its parameters, outputs, how it is drawn, its warm-up."""

    text: str
    """The spec in canonical form (lower case, no spaces), as it appears in column names."""
    function: str
    """The catalog name: TA-Lib's upper-case name, or ours."""
    params: dict[str, ParamValue]
    """Every parameter given (by position or name); the rest are the function's defaults."""
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    plots: tuple[Plot, ...]
    overlay: bool
    """Drawn on the price scale (TA-Lib flags the output scale as the input's)."""
    pane: Pane
    levels: tuple[float, ...]
    lookback: int
    """Buckets consumed before the first value."""
    unstable: bool
    """Values depend on where the series starts (exponential smoothing) and settle after a while."""
    group: str
    display_name: str
    own: bool = False

    def column(self, output: str) -> str:
        """The slice column of one output."""
        return f"{COLUMN_PREFIX}{self.text}:{output}"

    @property
    def columns(self) -> list[str]:
        """Every output's column, in order."""
        return [self.column(output) for output in self.outputs]

    @property
    def label(self) -> str:
        """How people read it, e.g. ``RSI(14)``."""
        head, _, rest = self.text.partition("(")
        return head.upper() + (f"({rest}" if rest else "")


def parse_indicator(text: str) -> IndicatorSpec:
    """Parse ``name``, ``name(arg, …)`` or ``name(param=value, …)`` into a spec.

    Raises:
        InvalidIndicator: unknown indicator or parameter, malformed arguments, values out of range.
    """
    return _parse(text.strip())


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> IndicatorSpec:
    match = _SPEC.match(text)
    if match is None:
        raise InvalidIndicator(
            f"indicator {text[:60]!r} is not of the form name, name(arg, …) or name(param=value, …)"
        )
    name, args = match.group(1).upper(), match.group(2)
    if name not in talib_names() and name not in OWN:
        raise InvalidIndicator(
            f"unknown indicator {match.group(1)!r}: not a TA-Lib function nor one of ours"
            f" ({', '.join(sorted(OWN)).lower()}); GET /api/v1/indicators/list lists them"
        )
    entry = info(name)
    if not entry.chartable:
        raise InvalidIndicator(f"{name.lower()} {entry.note}: it cannot be drawn on a chart")
    parameters = entry.parameters
    given = _arguments(name, parameters, args)
    params: dict[str, ParamValue] = {}
    for parameter in parameters:
        if parameter.name in given:
            params[parameter.name] = _value(name, parameter, given[parameter.name])
        elif parameter.default is None:
            raise InvalidIndicator(
                f"{name.lower()} needs {parameter.name} ({parameter.display_name.lower()}, a date),"
                f" e.g. {entry.example}"
            )
    last = max((i for i, p in enumerate(parameters) if p.name in params), default=-1)
    positional = [
        params[p.name] if p.name in params else cast("ParamValue", p.default) for p in parameters[: last + 1]
    ]
    for p in parameters[: last + 1]:
        params.setdefault(p.name, cast("ParamValue", p.default))
    canonical = name.lower() + (f"({','.join(_format(v) for v in positional)})" if positional else "")
    if name in OWN:
        lookback = OWN[name].lookback(_own_params(name, params))
    else:
        fn = function(name)
        fn.set_parameters(params)
        lookback = int(fn.lookback)
        if lookback < 0:  # TA-Lib's answer to a combination of parameters it refuses
            shown = ", ".join(f"{key}={_format(value)}" for key, value in params.items())
            raise InvalidIndicator(f"{name.lower()} does not accept {shown}: TA-Lib refuses this combination")
    return IndicatorSpec(
        text=canonical,
        function=name,
        params=params,
        inputs=tuple(entry.inputs),
        outputs=tuple(output.name for output in entry.outputs),
        plots=tuple(output.plot for output in entry.outputs),
        overlay=entry.overlay,
        pane=entry.pane,
        levels=tuple(entry.levels),
        lookback=lookback,
        unstable=entry.unstable,
        group=entry.group,
        display_name=entry.display_name,
        own=entry.source == "k2q",
    )


def _arguments(name: str, parameters: list[IndicatorParameter], args: str | None) -> dict[str, str]:
    """The raw text of each parameter given, by name."""
    parts = [part.strip() for part in args.split(",")] if args and args.strip() else []
    names = [p.name for p in parameters]
    given: dict[str, str] = {}
    named_seen = False
    for index, part in enumerate(parts):
        named = _NAMED.match(part)
        if named is not None:
            key = named.group(1).lower()
            if key not in names:
                raise InvalidIndicator(
                    f"{name.lower()} has no parameter {named.group(1)!r}"
                    f" (it takes {', '.join(names) or 'no parameters'})"
                )
            value, named_seen = named.group(2).strip(), True
        else:
            if named_seen:
                raise InvalidIndicator(f"{name.lower()}: a positional argument follows a named one")
            if index >= len(names):
                raise InvalidIndicator(
                    f"{name.lower()} takes at most {len(names)} parameters ({', '.join(names) or 'none'})"
                )
            key, value = names[index], part
        if key in given:
            raise InvalidIndicator(f"{name.lower()} parameter {key} is given twice")
        given[key] = value
    return given


def _value(function_name: str, parameter: IndicatorParameter, raw: str) -> ParamValue:
    where = f"{function_name.lower()} parameter {parameter.name}"
    if parameter.type == "date":
        try:
            day = dt.date.fromisoformat(raw) if _DATE.match(raw) else None
        except ValueError:
            day = None
        if day is None or not FIRST_DAY <= day <= LAST_DAY:
            raise InvalidIndicator(f"{where} must be a date from {FIRST_DAY} to {LAST_DAY}, e.g. 2024-03-01")
        return day.isoformat()
    if parameter.type == "ma_type" and raw.upper() in MA_TYPES:
        return MA_TYPES.index(raw.upper())
    low, high = parameter.minimum, parameter.maximum
    if not _NUMBER.match(raw) or not math.isfinite(float(raw)):
        raise InvalidIndicator(f"{where} must be a number{_range_text(parameter)}, not {raw[:20]!r}")
    value = float(raw)
    if parameter.type in ("integer", "ma_type"):
        if value != int(value) or (low is not None and value < low) or (high is not None and value > high):
            kind = "a whole number" if parameter.type == "integer" else "a moving-average type"
            raise InvalidIndicator(f"{where} must be {kind}{_range_text(parameter)}, not {raw[:20]}")
        return int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise InvalidIndicator(f"{where} must be a number{_range_text(parameter)}, not {raw[:20]}")
    return value


def _range_text(parameter: IndicatorParameter) -> str:
    low, high = parameter.minimum, parameter.maximum
    if parameter.type == "ma_type":
        return " from 0 to 8 (" + ", ".join(f"{i} {n}" for i, n in enumerate(MA_TYPES)) + ")"
    if low is not None and high is not None:
        return f" from {_format(_whole(low))} to {_format(_whole(high))}"
    if low is not None:
        return f" of at least {_format(_whole(low))}"
    if high is not None:
        return f" of at most {_format(_whole(high))}"
    return ""


def _whole(value: float) -> int | float:
    return int(value) if value == int(value) else value


def _format(value: ParamValue) -> str:
    return value if isinstance(value, str) else str(value) if isinstance(value, int) else f"{value:g}"


def _own_params(name: str, params: Mapping[str, ParamValue]) -> dict[str, int | float | dt.date]:
    types = {p.name: p.type for p in OWN[name].parameters}
    own: dict[str, int | float | dt.date] = {}
    for key, value in params.items():
        if isinstance(value, str):
            if types.get(key) == "date":
                own[key] = dt.date.fromisoformat(value)
        else:
            own[key] = value
    return own


class BucketSeries(msgspec.Struct, frozen=True, kw_only=True):
    """A series' buckets at one width as contiguous arrays: what indicators are computed over."""

    ts: np.ndarray[Any, np.dtype[np.int64]]
    """Bucket starts, epoch ms UTC, ascending."""
    open: Values
    high: Values
    low: Values
    close: Values
    volume: Values

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    @classmethod
    def of(cls, table: pa.Table) -> BucketSeries:
        """The arrays of a table of ``ts`` and OHLCV columns (a chart slice's leading columns)."""

        def floats(name: str) -> Values:
            return np.ascontiguousarray(table.column(name).to_numpy(), dtype=np.float64)

        ts = table.column("ts").cast(pa.int64()).to_numpy()
        return cls(
            ts=np.ascontiguousarray(ts, dtype=np.int64),
            **{name: floats(name) for name in BAR_INPUTS},
        )

    def tail(self, start: int) -> BucketSeries:
        """The buckets from index ``start`` on."""
        return BucketSeries(ts=self.ts[start:], **{name: getattr(self, name)[start:] for name in BAR_INPUTS})


def compute(spec: IndicatorSpec, series: BucketSeries, context: OwnContext) -> list[Values]:
    """Every output of ``spec`` over ``series``, in order, NaN where it has no value."""
    if len(series) == 0:
        return [np.empty(0, np.float64) for _ in spec.outputs]
    if spec.own:
        inputs = OwnInputs(
            ts=series.ts, open=series.open, high=series.high, low=series.low, close=series.close,
            volume=series.volume,
        )  # fmt: skip
        results = OWN[spec.function].compute(inputs, _own_params(spec.function, spec.params), context)
    else:
        columns = {column: getattr(series, column) for column in spec.inputs}
        results = run_talib(spec.function, spec.inputs, columns, spec.params)
    return [np.asarray(values, dtype=np.float64) for values in results]


def stable_index(spec: IndicatorSpec) -> int:
    """How many buckets come before the first stable value.

    The lookback plus, for functions whose values depend on where the series starts (EMA, RSI,
    MACD …), the buckets that dependence takes to fade (see ``catalog.settling``).
    """
    if spec.own:
        return spec.lookback
    return spec.lookback + settling(spec.function, tuple(sorted(spec.params.items())))
