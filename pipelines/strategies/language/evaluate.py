"""Checked strategies evaluated over bars: every rule for every bar at once.

Each node becomes a number, true/false, or a whole array over the bars: NumPy arithmetic,
TA-Lib's functions (through :func:`pipelines.indicators.catalog.run_talib`) and our own
indicators (through :func:`pipelines.indicators.specs.compute`). No per-bar Python loop.

NaN is "no value": arithmetic propagates it, overflow and division by zero give it (never ±inf),
every comparison with it is false (``!=`` too), ``crossover`` needs both bars, and a window holding
one is NaN. An :class:`IndicatorCache` shares indicator values between evaluations over the same
bars (a sweep computes ``sma(close, fast)`` once per distinct ``fast``); each value is keyed by
the canonical spec and a digest of what its inputs were computed from, never by their text alone.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from pipelines.indicators.catalog import run_talib
from pipelines.indicators.own import OwnContext
from pipelines.indicators.specs import BucketSeries, parse_indicator, stable_index
from pipelines.indicators.specs import compute as compute_indicator
from pipelines.strategies.language import names
from pipelines.strategies.language.errors import StrategyError, failure
from pipelines.strategies.language.syntax import (
    Arithmetic,
    Call,
    Compare,
    Expression,
    Lag,
    Logical,
    Name,
    Negate,
    Node,
    Not,
    Power,
    Program,
    Select,
    children,
    render,
)
from pipelines.strategies.language.types import (
    ARITHMETIC,
    COMPARISONS,
    MAX_LAG,
    MAX_WINDOW,
    Analysis,
    Kind,
    Scalar,
    indicator_spec,
    static_value,
    whole_number,
)
from pipelines.strategies.signals import Signals
from schemas.strategies import ParseProblem

Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]
Value = Any


class Trace:
    """The per-bar values an evaluation computes on the way, kept just before given cut points.

    Keyed by where each expression stands in the text (``line 2, column 14: close[-1]``); for each
    cut, a copy of the ``window`` values before it. Only those windows are kept (not whole arrays),
    so tracing costs an evaluation no memory to speak of: what the look-ahead audit compares.
    """

    def __init__(self, cuts: Sequence[int], window: int) -> None:
        self.cuts = tuple(cuts)
        self.window = window
        self.values: dict[str, list[NDArray[Any]]] = {}

    def start(self, cut: int) -> int:
        """Where the window before ``cut`` starts."""
        return max(0, cut - self.window)

    def record(self, where: str, values: NDArray[Any]) -> None:
        """Keep the windows of ``values`` before each cut."""
        self.values[where] = [values[self.start(cut) : cut].copy() for cut in self.cuts]


"""A node's value: a float or bool (known before the bars), an array over the bars, or a tuple of
arrays (a multi-output indicator before its selector)."""

_ROLLING: Final[Mapping[str, tuple[str, dict[str, float]]]] = {
    "highest": ("MAX", {}),
    "lowest": ("MIN", {}),
    "mean": ("SMA", {}),
    "std": ("STDDEV", {"nbdev": 1.0}),
}
"""The TA-Lib function of each window built-in (STDDEV is the population deviation, ddof 0)."""


@dataclass(frozen=True, slots=True)
class StrategyInputs:
    """What a strategy is evaluated over: the bars and what our own indicators need to know of them."""

    bars: BucketSeries
    context: OwnContext


class IndicatorCache:
    """Indicator outputs shared by evaluations over the same bars (one sweep's combinations).

    Each distinct (indicator, parameters, inputs) is computed once; the least recently used of
    more than ``max_entries`` are dropped. Evaluating over other bars empties it. Not thread-safe:
    one cache per thread. Cached arrays are read-only.
    """

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[object, ...], tuple[Floats, ...]] = OrderedDict()
        self._bars: BucketSeries | None = None
        self._context: OwnContext | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def outputs(
        self, inputs: StrategyInputs, key: tuple[object, ...], compute: Callable[[], list[Floats]]
    ) -> tuple[Floats, ...]:
        """The outputs under ``key`` over ``inputs``, computed by ``compute`` the first time."""
        if self._bars is not inputs.bars or self._context != inputs.context:
            self._entries.clear()
            self._bars, self._context = inputs.bars, inputs.context
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
            return found
        outputs = tuple(_frozen(_finite(np.asarray(values, dtype=np.float64))) for values in compute())
        self._entries[key] = outputs
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return outputs


def _frozen(values: Floats) -> Floats:
    values.flags.writeable = False
    return values


def _finite(values: Any) -> Any:
    """``values`` with ±inf as NaN (a new array when any)."""
    if isinstance(values, np.ndarray):
        bad = ~np.isfinite(values)
        return np.where(bad, np.nan, values) if bad.any() else values
    number = float(values)
    return number if math.isfinite(number) else math.nan


def _key(*parts: object) -> bytes:
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).digest()


# --- parameters --------------------------------------------------------------------------------


def _override_problem(message: str, suggestion: str | None = None) -> ParseProblem:
    return ParseProblem(message=message, line=0, column=0, suggestion=suggestion)


def resolve_params(program: Program, overrides: Mapping[str, float]) -> dict[str, float]:
    """Every declared parameter's value: its default, or its override.

    Raises:
        StrategyError: an override names no declared parameter, is not a finite number, is out of
            the parameter's range, or is not whole where the parameter is (line and column 0).
    """
    specs = {spec.name: spec for spec in program.parameters}
    values = {name: spec.default for name, spec in specs.items()}
    problems: list[ParseProblem] = []
    for name, value in overrides.items():
        spec = specs.get(name)
        if spec is None:
            suggestion = names.closest(name, specs)
            declared = f"it declares {', '.join(specs)}" if specs else "it declares none"
            problems.append(
                _override_problem(
                    f"the strategy has no parameter {name!r}"
                    + (f" — did you mean {suggestion}?" if suggestion else f" ({declared})"),
                    suggestion,
                )
            )
            continue
        number = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan
        low, high = spec.minimum, spec.maximum
        if not math.isfinite(number):
            problems.append(_override_problem(f"parameter {name} must be a finite number, not {value!r}"))
        elif spec.integer and number != int(number):
            problems.append(_override_problem(f"parameter {name} must be a whole number, not {number:g}"))
        elif (low is not None and number < low) or (high is not None and number > high):
            bounds = " to ".join(f"{bound:g}" for bound in (low, high) if bound is not None)
            side = (
                "from"
                if low is not None and high is not None
                else "at least"
                if low is not None
                else "at most"
            )
            problems.append(_override_problem(f"parameter {name} must be {side} {bounds}, not {number:g}"))
        else:
            values[name] = number
    if problems:
        raise StrategyError(problems)
    return values


def _program_scalars(program: Program, params: Mapping[str, float]) -> dict[str, Scalar]:
    """The value of every name known before the bars: parameters, then number and true/false names."""
    declared = {spec.name for spec in program.analysis.parameters}
    scalars: dict[str, Scalar] = {}
    for statement in program.statements:
        if statement.name in declared:
            scalars[statement.name] = params[statement.name]
        elif program.analysis.assigned[statement.name].static:
            scalars[statement.name] = static_value(statement.value, scalars)
    return scalars


def _expression_scalars(expression: Expression, params: Mapping[str, float]) -> dict[str, Scalar]:
    problems: list[ParseProblem] = []
    scalars: dict[str, Scalar] = {}
    for name in expression.parameters:
        value = params.get(name)
        if value is None or isinstance(value, bool) or not math.isfinite(float(value)):
            problems.append(
                _override_problem(f"the expression reads parameter {name!r}: give it a finite number")
            )
        else:
            scalars[name] = float(value)
    if problems:
        raise StrategyError(problems)
    return scalars


# --- per-bar operations ------------------------------------------------------------------------


def _broadcast(value: Value, n: int) -> Any:
    return value if isinstance(value, np.ndarray) else np.full(n, value)


def _shift(values: Any, bars: int) -> Any:
    """``values`` ``bars`` bars later (earlier when negative), NaN (or false) where there is none."""
    n = values.shape[0]
    out = np.zeros(n, dtype=bool) if values.dtype == np.bool_ else np.full(n, np.nan)
    if bars == 0:
        out[:] = values
    elif abs(bars) < n:
        if bars > 0:
            out[bars:] = values[:-bars]
        else:
            out[:bars] = values[-bars:]
    return out


def _crossing(a: Value, b: Value, n: int, *, up: bool) -> Bools:
    """TradingView's crossover (a > b now, a <= b the bar before) or crossunder; false with NaN."""
    a, b = _broadcast(a, n), _broadcast(b, n)
    out = np.zeros(n, dtype=bool)
    if n > 1:
        if up:
            out[1:] = (a[1:] > b[1:]) & (a[:-1] <= b[:-1])
        else:
            out[1:] = (a[1:] < b[1:]) & (a[:-1] >= b[:-1])
    return out


def rolling(function: str, values: Floats, window: int) -> Floats:
    """``highest``, ``lowest``, ``mean`` or ``std`` of the last ``window`` values, this one included.

    NaN until ``window`` values, and wherever the window holds a NaN. TA-Lib's MAX, MIN, SMA and
    STDDEV (population) compute the windows; NaNs inside the series are masked around them.
    """
    n = values.shape[0]
    if window > n:
        return np.full(n, np.nan)
    missing = np.isnan(values)
    if window == 1:
        return np.where(missing, np.nan, 0.0) if function == "std" else values.copy()
    name, params = _ROLLING[function]
    arguments = {**params, "timeperiod": window}
    first = int(np.argmin(missing)) if not missing.all() else n
    if not missing[first:].any():  # NaN only in front: TA-Lib starts after them itself
        return run_talib(name, ("close",), {"close": np.ascontiguousarray(values)}, arguments)[0]
    filled = np.where(missing, 0.0, values)
    out = run_talib(name, ("close",), {"close": filled}, arguments)[0]
    inside = np.cumsum(missing)
    inside[window:] -= inside[:-window].copy()
    out[inside > 0] = np.nan
    return out


# --- evaluation --------------------------------------------------------------------------------


class _Run:
    """One evaluation: node values over one set of bars, at one set of parameter values."""

    def __init__(
        self,
        analysis: Analysis,
        inputs: StrategyInputs,
        scalars: Mapping[str, Scalar],
        cache: IndicatorCache,
        trace: Trace | None = None,
    ) -> None:
        self.analysis = analysis
        self.inputs = inputs
        self.scalars = scalars
        self.cache = cache
        self.trace = trace
        self.n = len(inputs.bars)
        self.named: dict[str, tuple[Value, bytes]] = {}

    def value(self, node: Node) -> tuple[Value, bytes]:
        """The value of a checked node, and a digest of what it was computed from."""
        kind = self.analysis.kind(node)
        if kind.static:
            scalar = static_value(node, self.scalars)
            return scalar, _key("scalar", scalar)
        with np.errstate(all="ignore"):
            value = self._value(node)
        if self.trace is not None and isinstance(value[0], np.ndarray) and not isinstance(node, Name):
            self.trace.record(f"line {node.line}, column {node.column}: {render(node)}", value[0])
        return value

    def _value(self, node: Node) -> tuple[Value, bytes]:
        match node:
            case Name():
                return self.named[node.name] if node.name in self.named else self._price(node.name)
            case Call():
                return self._call(node)
            case Select():
                outputs, key = self.value(node.target)
                index = self.analysis.selections[id(node)]
                return outputs[index], _key("select", key, index)
            case Lag():
                target, key = self.value(node.target)
                bars = whole_number(node.bars, self.scalars, -MAX_LAG, MAX_LAG, "a lag")
                return _shift(target, bars), _key("lag", key, bars)
            case Negate():
                operand, key = self.value(node.operand)
                return np.negative(operand), _key("negate", key)
            case Not():
                operand, key = self.value(node.operand)
                return np.logical_not(operand), _key("not", key)
            case Arithmetic():
                value, key = self.value(node.first)
                keys: list[object] = [key]
                for op, operand in node.rest:
                    other, other_key = self.value(operand)
                    value = _finite(ARITHMETIC[op](value, other))
                    keys += [op, other_key]
                return value, _key("arithmetic", *keys)
            case Power():
                (base, base_key), (exponent, exponent_key) = self.value(node.base), self.value(node.exponent)
                return _finite(np.power(base, exponent)), _key("power", base_key, exponent_key)
            case Compare():
                (left, left_key), (right, right_key) = self.value(node.left), self.value(node.right)
                result = COMPARISONS[node.op](left, right)
                if node.op == "!=":
                    result &= ~np.isnan(left) & ~np.isnan(right)
                return result, _key("compare", node.op, left_key, right_key)
            case Logical():
                values = [self.value(operand) for operand in node.operands]
                combine = np.logical_and if node.op == "and" else np.logical_or
                result = functools.reduce(combine, (value for value, _ in values))
                return result, _key(node.op, *(key for _, key in values))
        raise TypeError(f"no per-bar value for {type(node).__name__}")  # pragma: no cover

    def _price(self, name: str) -> tuple[Floats, bytes]:
        bars = self.inputs.bars
        key = _key("price", name)
        if name in ("open", "high", "low", "close", "volume"):
            values: Floats = getattr(bars, name)
        elif name == "hl2":
            values = (bars.high + bars.low) / 2.0
        elif name == "hlc3":
            values = (bars.high + bars.low + bars.close) / 3.0
        elif name == "ohlc4":
            values = (bars.open + bars.high + bars.low + bars.close) / 4.0
        else:  # vwap
            spec = parse_indicator("svwap")
            compute: Callable[[], list[Floats]] = lambda: compute_indicator(spec, bars, self.inputs.context)  # noqa: E731
            values = self.cache.outputs(self.inputs, ("indicator", spec.text, "bars"), compute)[0]
        return values, key

    def _call(self, node: Call) -> tuple[Value, bytes]:
        function = node.function
        call = self.analysis.indicators.get(id(node))
        if call is not None:
            spec = indicator_spec(call, self.scalars, node)
            computed = [self.value(source) for source in call.inputs]
            sources: tuple[object, ...] = tuple(k for _, k in computed) or ("bars",)
            key = ("indicator", spec.text, *sources)

            def compute() -> list[Floats]:
                if self.n == 0:
                    return [np.empty(0) for _ in spec.outputs]
                if not computed:
                    return compute_indicator(spec, self.inputs.bars, self.inputs.context)
                columns = {
                    column: np.ascontiguousarray(value, dtype=np.float64)
                    for column, (value, _) in zip(spec.inputs, computed, strict=True)
                }
                try:
                    return run_talib(spec.function, spec.inputs, columns, spec.params)
                except Exception as exc:  # TA-Lib's own refusal of a series it cannot take
                    raise failure(f"{call.name} failed: {exc}", node.line, node.column) from None

            outputs = self.cache.outputs(self.inputs, key, compute)
            return (outputs if len(outputs) > 1 else outputs[0]), _key(*key)
        values = [self.value(argument.value) for argument in node.arguments]
        keys = [key for _, key in values]
        if function in names.CROSSINGS:
            (a, _), (b, _) = values
            return _crossing(a, b, self.n, up=function == "crossover"), _key(function, *keys)
        if function in names.ROLLING:
            (series, series_key), _ = values
            window = whole_number(
                node.arguments[1].value, self.scalars, 1, MAX_WINDOW, f"{function}'s window"
            )
            cache_key = (function, window, series_key)
            outputs = self.cache.outputs(self.inputs, cache_key, lambda: [rolling(function, series, window)])
            return outputs[0], _key(*cache_key)
        if function == "abs":
            return np.abs(values[0][0]), _key(function, *keys)
        (a, _), (b, _) = values  # min, max
        return (np.minimum if function == "min" else np.maximum)(a, b), _key(function, *keys)


@functools.lru_cache(maxsize=16)
def _constant(n: int, value: float | bool) -> NDArray[Any]:
    """A read-only array of ``n`` copies of ``value``, shared: rules left out cost no allocation per run."""
    out = np.full(n, value)
    out.flags.writeable = False
    return out


def _flags(value: Value, n: int) -> Bools:
    if not isinstance(value, np.ndarray):
        return _constant(n, bool(value))
    return value if value.dtype == np.bool_ else np.asarray(value, dtype=bool)


def _numbers(value: Value, n: int) -> Floats:
    return (
        _constant(n, float(value))
        if not isinstance(value, np.ndarray)
        else np.asarray(value, dtype=np.float64)
    )


def _where(values: Floats, keep: Bools) -> Floats:
    if keep.all():
        return values
    if not keep.any():
        return _constant(len(values), math.nan)
    return np.where(keep, values, np.nan)


def evaluate(
    program: Program,
    inputs: StrategyInputs,
    params: Mapping[str, float],
    cache: IndicatorCache | None = None,
    trace: Trace | None = None,
) -> Signals:
    """Every rule of ``program`` for every bar of ``inputs``, at ``params`` (defaults for the rest).

    ``trace``, when given, keeps every per-bar value the program computed on the way, near its cut
    points: what the look-ahead audit compares between the whole data and its prefixes.

    Raises:
        StrategyError: a parameter override is refused, or a value reached through the parameters
            is (an indicator's period out of the catalog's range, a window or lag out of bounds).
    """
    resolved = resolve_params(program, params)
    scalars = _program_scalars(program, resolved)
    run = _Run(program.analysis, inputs, scalars, cache if cache is not None else IndicatorCache(), trace)
    n = run.n
    for statement in program.statements:
        name, value = statement.name, statement.value
        if name in scalars:
            run.named[name] = (scalars[name], _key("scalar", scalars[name]))
        elif program.analysis.assigned[name] is Kind.UNITS:
            assert isinstance(value, Call)
            run.named[name] = run.value(value.arguments[0].value)
        else:
            run.named[name] = run.value(value)
    got = {name: value for name, (value, _) in run.named.items()}
    units = program.analysis.assigned.get(names.SIZE_RULE) is Kind.UNITS
    with np.errstate(invalid="ignore"):
        percents = {name: _numbers(got.get(name, math.nan), n) for name in names.PERCENT_RULES}
        size = _numbers(got.get(names.SIZE_RULE, math.nan), n)
        return Signals(
            long_entry=_flags(got.get("long_entry", False), n),
            long_exit=_flags(got.get("long_exit", False), n),
            short_entry=_flags(got.get("short_entry", False), n),
            short_exit=_flags(got.get("short_exit", False), n),
            stop_loss=_where(percents["stop_loss"], percents["stop_loss"] > 0),
            take_profit=_where(percents["take_profit"], percents["take_profit"] > 0),
            trailing_stop=_where(percents["trailing_stop"], percents["trailing_stop"] > 0),
            size=size,  # the engine: NaN the default, zero or less no entry, a fraction above 1 all equity
            size_in_units=units,
            series={name: _numbers(got[name], n) for name in program.series_names},
        )


def evaluate_expression(
    expression: Expression,
    inputs: StrategyInputs,
    params: Mapping[str, float],
    cache: IndicatorCache | None = None,
) -> tuple[Bools, dict[str, Floats]]:
    """Whether a screen expression holds at each bar, and each top-level term's values.

    Terms are named by their canonical text (``rsi(close, 14)``, ``close``); true/false terms
    are 0/1.

    Raises:
        StrategyError: a parameter the expression reads is missing from ``params``, or a value
            reached through one is refused.
    """
    scalars = _expression_scalars(expression, params)
    run = _Run(expression.analysis, inputs, scalars, cache if cache is not None else IndicatorCache())
    holds, _ = run.value(expression.root)
    terms = {text: _numbers(run.value(node)[0], run.n) for text, node in expression.term_nodes}
    return _flags(holds, run.n), terms


# --- warm-up -----------------------------------------------------------------------------------


class _Warmup:
    """Bars before a node's values stop depending on where the bars start."""

    def __init__(self, analysis: Analysis, scalars: Mapping[str, Scalar]) -> None:
        self.analysis = analysis
        self.scalars = scalars
        self.named: dict[str, int] = {}

    def of(self, node: Node) -> int:
        """The warm-up of a checked node (each node visited once)."""
        if self.analysis.kind(node).static:
            return 0
        match node:
            case Name():
                return self.named.get(node.name, 0)
            case Call() if id(node) in self.analysis.indicators:
                call = self.analysis.indicators[id(node)]
                inputs = max((self.of(source) for source in call.inputs), default=0)
                return stable_index(indicator_spec(call, self.scalars, node)) + inputs
            case Call(function="highest" | "lowest" | "mean" | "std"):
                window = whole_number(node.arguments[1].value, self.scalars, 1, MAX_WINDOW, "a window")
                return window - 1 + self.of(node.arguments[0].value)
            case Call(function="crossover" | "crossunder"):
                return 1 + self._nested(node)
            case Lag():
                bars = whole_number(node.bars, self.scalars, -MAX_LAG, MAX_LAG, "a lag")
                return max(bars, 0) + self.of(node.target)
        return self._nested(node)

    def _nested(self, node: Node) -> int:
        return max((self.of(child) for child in children(node)), default=0)


def warmup_bars(target: Program | Expression, params: Mapping[str, float]) -> int:
    """Bars before every value is stable: what a screen reads back before the bar it screens.

    Along each nesting, the sum of the indicators' stable indexes (lookback plus settling), of
    the lags and of the windows less one; the largest over the expression (every statement).

    Raises:
        StrategyError: as :func:`evaluate` and :func:`evaluate_expression` for ``params``.
    """
    if isinstance(target, Expression):
        return _Warmup(target.analysis, _expression_scalars(target, params)).of(target.root)
    scalars = _program_scalars(target, resolve_params(target, params))
    warmup = _Warmup(target.analysis, scalars)
    for statement in target.statements:
        value = statement.value
        if statement.name in scalars:
            bars = 0
        elif target.analysis.assigned[statement.name] is Kind.UNITS:
            assert isinstance(value, Call)
            bars = warmup.of(value.arguments[0].value)
        else:
            bars = warmup.of(value)
        warmup.named[statement.name] = bars
    return max(warmup.named.values(), default=0)
