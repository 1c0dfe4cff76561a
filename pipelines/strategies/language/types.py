"""What each part of a strategy is: names resolved, kinds checked, indicator calls bound.

Every expression node has a :class:`Kind`: a number (a literal, a parameter, arithmetic of them),
true/false, a number series or true/false per bar. Numbers are known before the bars are (given
the parameters): they are what periods, windows and lags may be, and :func:`static_value` computes
them. The checker also binds each indicator call to the catalog (series arguments to its inputs,
the rest to its parameters) and validates the parameters with the catalog's own parser
(:func:`pipelines.indicators.specs.parse_indicator`) at the declared defaults, so a strategy that
checks also evaluates at its defaults.

Checking walks the tree recursively; :mod:`pipelines.strategies.language.syntax` has already
refused trees deeper than ``MAX_DEPTH``.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

import numpy as np

from pipelines.indicators.catalog import info
from pipelines.indicators.specs import IndicatorSpec, InvalidIndicator, parse_indicator
from pipelines.strategies.language import names
from pipelines.strategies.language.errors import StrategyError, failure
from pipelines.strategies.language.syntax import (
    Argument,
    Arithmetic,
    Assignment,
    Boolean,
    Call,
    Compare,
    Date,
    Expression,
    Lag,
    Logical,
    Name,
    Negate,
    Node,
    Not,
    Number,
    Power,
    Program,
    Select,
    children,
    format_number,
    render,
)
from schemas.indicators import IndicatorParameter
from schemas.strategies import ParamSpec, ParseProblem

MAX_LAG: Final = 10_000
"""Largest lag, either way, in bars."""
MAX_WINDOW: Final = 10_000
"""Longest window of ``highest``, ``lowest``, ``mean`` and ``std``."""
MAX_PROBLEMS: Final = 20
"""Most problems one check reports."""

Scalar = float | bool
"""A value known before the bars are: a number or true/false."""


class Kind(enum.Enum):
    """What an expression is; the value reads as it does in messages."""

    NUMBER = "a number"
    BOOLEAN = "true/false"
    SERIES = "a number series"
    SIGNAL = "true/false per bar"
    OUTPUTS = "several outputs"
    UNITS = "units(…)"

    @property
    def numeric(self) -> bool:
        """A number or a number series."""
        return self in (Kind.NUMBER, Kind.SERIES)

    @property
    def logical(self) -> bool:
        """True/false, or true/false per bar."""
        return self in (Kind.BOOLEAN, Kind.SIGNAL)

    @property
    def static(self) -> bool:
        """Known before the bars are (given the parameters)."""
        return self in (Kind.NUMBER, Kind.BOOLEAN)


@dataclass(frozen=True, slots=True, kw_only=True)
class IndicatorCall:
    """A call of a catalog indicator, bound: which nodes feed its inputs and its parameters."""

    name: str
    """Lower case, as written (``rsi``)."""
    function: str
    """The catalog name (``RSI``)."""
    inputs: tuple[Node, ...]
    """The series arguments, one per catalog input; empty: the bars' own columns."""
    params: tuple[tuple[str, Node], ...]
    """Catalog parameter name → the node giving it (a number, a moving-average kind's name, a date)."""
    outputs: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Analysis:
    """What the checker found: every node's kind, every indicator call's binding, every selection."""

    kinds: Mapping[int, Kind]
    """By ``id()`` of the node (the program or expression holds its nodes)."""
    indicators: Mapping[int, IndicatorCall]
    selections: Mapping[int, int]
    """Output index of each :class:`Select`."""
    assigned: Mapping[str, Kind]
    """Kind of each name a program assigns (a parameter is a number)."""
    parameters: tuple[ParamSpec, ...]

    def kind(self, node: Node) -> Kind:
        """The kind of a checked node."""
        return self.kinds[id(node)]


# --- values known before the bars ------------------------------------------------------------------

ARITHMETIC: Final[Mapping[str, np.ufunc]] = MappingProxyType(
    {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}
)
COMPARISONS: Final[Mapping[str, np.ufunc]] = MappingProxyType(
    {
        "<": np.less,
        "<=": np.less_equal,
        ">": np.greater,
        ">=": np.greater_equal,
        "==": np.equal,
        "!=": np.not_equal,
    }
)


def _number(value: object) -> float:
    result = float(value)  # type: ignore[arg-type]
    return result if math.isfinite(result) else math.nan


def static_value(node: Node, scalars: Mapping[str, Scalar]) -> Scalar:
    """The value of a number or true/false expression, given the named ones (parameters first).

    Arithmetic is float64 as over the bars: overflow and division by zero give NaN, and every
    comparison with NaN is false.
    """
    with np.errstate(all="ignore"):
        return _static(node, scalars)


def _static(node: Node, scalars: Mapping[str, Scalar]) -> Scalar:
    match node:
        case Number() | Boolean():
            return node.value
        case Name():
            return scalars[node.name]
        case Negate():
            return -float(_static(node.operand, scalars))
        case Not():
            return not _static(node.operand, scalars)
        case Arithmetic():
            value = float(_static(node.first, scalars))
            for op, operand in node.rest:
                value = _number(ARITHMETIC[op](np.float64(value), float(_static(operand, scalars))))
            return value
        case Power():
            base, exponent = float(_static(node.base, scalars)), float(_static(node.exponent, scalars))
            return _number(np.power(np.float64(base), exponent))
        case Compare():
            left, right = float(_static(node.left, scalars)), float(_static(node.right, scalars))
            if math.isnan(left) or math.isnan(right):
                return False
            return bool(COMPARISONS[node.op](left, right))
        case Logical():
            values = [bool(_static(operand, scalars)) for operand in node.operands]
            return all(values) if node.op == "and" else any(values)
        case Call(function="abs"):
            return abs(float(_static(node.arguments[0].value, scalars)))
        case Call(function="min" | "max"):
            a, b = (float(_static(argument.value, scalars)) for argument in node.arguments)
            return float((np.minimum if node.function == "min" else np.maximum)(a, b))
    raise TypeError(f"{render(node)[:60]} has no value before the bars are known")


def _whole(value: Scalar, low: int, high: int) -> int | None:
    number = float(value)
    if not math.isfinite(number) or number != int(number) or not low <= number <= high:
        return None
    return int(number)


def whole_number(node: Node, scalars: Mapping[str, Scalar], low: int, high: int, what: str) -> int:
    """A window's or lag's value: a whole number from ``low`` to ``high``.

    Raises:
        StrategyError: it is not (located at ``node``).
    """
    value = static_value(node, scalars)
    whole = _whole(value, low, high)
    if whole is None:
        raise failure(
            f"{what} must be a whole number from {low:,} to {high:,}, not {format_number(float(value))}",
            node.line,
            node.column,
        )
    return whole


def indicator_spec(call: IndicatorCall, scalars: Mapping[str, Scalar], at: Node) -> IndicatorSpec:
    """The catalog spec of an indicator call at the given parameter values.

    Raises:
        StrategyError: the catalog refuses a value (its own message), located at ``at``.
    """
    given = dict(call.params)
    parameters = info(call.function).parameters
    last = max((i for i, p in enumerate(parameters) if p.name in given), default=-1)
    values = [
        _spec_value(given[p.name], scalars) if p.name in given else _default_text(p)
        for p in parameters[: last + 1]
    ]
    text = call.name + (f"({','.join(values)})" if values else "")
    try:
        return parse_indicator(text)
    except InvalidIndicator as exc:
        raise failure(str(exc), at.line, at.column) from None


def _spec_value(node: Node, scalars: Mapping[str, Scalar]) -> str:
    if isinstance(node, Date):
        return node.value
    if isinstance(node, Name) and node.name in names.MA_TYPE_NAMES:
        return str(names.MA_TYPE_NAMES[node.name])
    return format_number(float(static_value(node, scalars)))


def _default_text(parameter: IndicatorParameter) -> str:
    default = parameter.default
    if isinstance(default, str):
        return default
    return format_number(float(default)) if default is not None else ""


def output_aliases(function: str, outputs: Sequence[str]) -> dict[str, int]:
    """Every selector of an indicator's outputs, to the output's index.

    An output's name; without the function's name, another output's name or the outputs' common
    prefix (``slow`` of ``slowk``, ``slowd``) in front; without ``band`` at the end. Only the
    selectors that name one output.

    >>> sorted(output_aliases("macd", ["macd", "macdsignal", "macdhist"]))
    ['hist', 'macd', 'macdhist', 'macdsignal', 'signal']
    >>> output_aliases("bbands", ["upperband", "middleband", "lowerband"])["upper"]
    0
    """
    shared = _common_prefix(outputs) if len(outputs) > 1 else ""
    usable = len(shared) >= 2 and all(output != shared for output in outputs)
    prefixes = [function, *outputs, *([shared] if usable else [])]
    owners: dict[str, set[int]] = {}
    for index, output in enumerate(outputs):
        forms = {output, *(output[len(p) :] for p in prefixes if output.startswith(p) and output != p)}
        forms |= {form[: -len("band")] for form in forms if form.endswith("band")}
        for form in forms - {""}:
            owners.setdefault(form, set()).add(index)
    return {form: next(iter(indices)) for form, indices in owners.items() if len(indices) == 1}


def _common_prefix(words: Sequence[str]) -> str:
    first, last = min(words), max(words)
    size = next(
        (i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), min(len(first), len(last))
    )
    return first[:size]


def selectors(function: str, outputs: Sequence[str]) -> list[str]:
    """The shortest selector of each output, in order (``signal`` for ``macdsignal``)."""
    aliases = output_aliases(function, outputs)
    return [
        min(
            (form for form, index in aliases.items() if index == i), key=lambda f: (len(f), f), default=output
        )
        for i, output in enumerate(outputs)
    ]


# --- checking ----------------------------------------------------------------------------------


class _Broken(Exception):
    """A statement reads a name whose own statement failed: skip it without a second problem."""


def _shown(node: Node) -> str:
    text = render(node)
    return text if len(text) <= 40 else text[:39] + "…"


class _Checker:
    """Kinds of nodes, bindings of calls, statement by statement."""

    def __init__(
        self, scope: dict[str, Kind], scalars: dict[str, Scalar], targets: Mapping[str, int]
    ) -> None:
        self.kinds: dict[int, Kind] = {}
        self.indicators: dict[int, IndicatorCall] = {}
        self.selections: dict[int, int] = {}
        self.scope = scope
        """Names readable now (parameters, names assigned so far) and their kinds."""
        self.scalars = scalars
        """Values of the number and true/false names, at the declared defaults."""
        self.targets = targets
        """Every name the program assigns, by the line of its statement."""
        self.broken: set[str] = set()
        self.current: str | None = None

    def check(self, node: Node, *, outputs: bool = False) -> Kind:
        """The kind of ``node`` (a multi-output call only when ``outputs``).

        Raises:
            StrategyError: the first problem inside ``node``.
        """
        kind = self.kinds.get(id(node))
        if kind is None:
            kind = self._kind(node)
            self.kinds[id(node)] = kind
        if kind is Kind.OUTPUTS and not outputs:
            call = self.indicators[id(node)]
            shown = selectors(call.name, call.outputs)
            example = shown[min(1, len(shown) - 1)]
            raise failure(
                f"{call.name} has {len(shown)} outputs: select one, e.g. {_shown(node)}.{example}"
                f" (.{', .'.join(shown)})",
                node.line,
                node.column,
                expected=[f".{s}" for s in shown],
            )
        return kind

    def _kind(self, node: Node) -> Kind:
        match node:
            case Number():
                return Kind.NUMBER
            case Boolean():
                return Kind.BOOLEAN
            case Date():
                raise failure(
                    f"a date ({node.value}) is only the value of a date parameter, e.g. avwap({node.value})",
                    node.line,
                    node.column,
                )
            case Name():
                return self._name(node)
            case Call():
                return self._call(node)
            case Select():
                return self._select(node)
            case Lag():
                return self._lag(node)
            case Negate():
                return self._numeric(node.operand, "'-'")
            case Not():
                return self._logical(node.operand, "not")
            case Arithmetic():
                kinds = [self._numeric(node.first, f"'{node.rest[0][0]}'")]
                kinds += [self._numeric(value, f"'{op}'") for op, value in node.rest]
                return Kind.SERIES if Kind.SERIES in kinds else Kind.NUMBER
            case Power():
                kinds = [self._numeric(node.base, "'**'"), self._numeric(node.exponent, "'**'")]
                return Kind.SERIES if Kind.SERIES in kinds else Kind.NUMBER
            case Compare():
                kinds = [self._numeric(node.left, f"'{node.op}'"), self._numeric(node.right, f"'{node.op}'")]
                return Kind.SIGNAL if Kind.SERIES in kinds else Kind.BOOLEAN
            case Logical():
                kinds = [self._logical(operand, node.op) for operand in node.operands]
                return Kind.SIGNAL if Kind.SIGNAL in kinds else Kind.BOOLEAN

    def _numeric(self, node: Node, operator: str) -> Kind:
        kind = self.check(node)
        if not kind.numeric:
            raise failure(
                f"{operator} needs numbers, but {_shown(node)} is {kind.value}", node.line, node.column
            )
        return kind

    def _logical(self, node: Node, operator: str) -> Kind:
        kind = self.check(node)
        if not kind.logical:
            raise failure(
                f"{operator} needs true/false values, but {_shown(node)} is {kind.value}"
                f" (compare it, e.g. {_shown(node)} > 0)",
                node.line,
                node.column,
            )
        return kind

    def _name(self, node: Name) -> Kind:
        name = node.name
        if name in self.scope:
            return self.scope[name]
        if name in self.broken:
            raise _Broken(name)
        if name in names.PRICE_SERIES:
            return Kind.SERIES
        if name in names.KEYWORDS:
            message = f"{name} is a keyword and cannot stand here"
        elif name == self.current:
            message = f"{name} is used in its own definition: a name is read only after its statement"
        elif name in self.targets:
            message = f"{name} is used before it is assigned (line {self.targets[name]})"
        elif name in names.RULES:
            message = f"{name} is a rule this strategy does not assign"
        elif name in names.MA_TYPE_NAMES:
            message = (
                f"{name} is a moving-average type here only as the value of a matype parameter"
                f" (bbands(close, 20, matype={name})); as an indicator, call it: {name}(close, 20)"
            )
        elif name in names.BUILTINS or name in names.indicator_names():
            message = f"{name} is a function: call it, {name}(…)"
        else:
            suggestion = names.closest(
                name, [*self.scope, *names.PRICE_SERIES, "true", "false", *names.callable_names()]
            )
            raise failure(
                f"unknown name {name!r}" + (f" — did you mean {suggestion}?" if suggestion else ""),
                node.line,
                node.column,
                suggestion=suggestion,
            )
        raise failure(message, node.line, node.column)

    def _call(self, node: Call) -> Kind:
        function = node.function
        if function in names.KEYWORDS:
            raise failure(f"{function} is a keyword and cannot stand here", node.line, node.column)
        if function in self.scope or function in self.targets:
            raise failure(
                f"{function} is a name this strategy assigns, not a function", node.line, node.column
            )
        if function in names.PRICE_SERIES:
            extra = (
                " (the session VWAP; TA-Lib's cumulative VWAP is not available)" if function == "vwap" else ""
            )
            raise failure(f"{function} is a price series, not a function{extra}", node.line, node.column)
        if function == "param":
            raise failure(
                "param(…) is only the whole right-hand side of an assignment:"
                " name = param(10, min=2, max=100)",
                node.line,
                node.column,
            )
        if function == "units":
            raise failure(
                "units(…) is only the whole right-hand side of size: size = units(100)",
                node.line,
                node.column,
            )
        if function in names.BUILTINS:
            return self._builtin(node)
        if function in names.indicator_names():
            return self._indicator(node)
        suggestion = names.closest(function, names.callable_names())
        raise failure(
            f"unknown name {function!r}" + (f" — did you mean {suggestion}?" if suggestion else ""),
            node.line,
            node.column,
            suggestion=suggestion,
        )

    def _positional(self, node: Call, signature: str) -> list[Node]:
        """The arguments of a built-in, checked for count (``signature`` lists them)."""
        for argument in node.arguments:
            if argument.keyword is not None:
                raise failure(
                    f"{node.function} takes no named arguments: {node.function}({signature})",
                    argument.line,
                    argument.column,
                )
        count = signature.count(",") + 1
        if len(node.arguments) != count:
            raise failure(
                f"{node.function} takes {count} argument{'s' if count > 1 else ''} ({signature}),"
                f" not {len(node.arguments)}",
                node.line,
                node.column,
            )
        return [argument.value for argument in node.arguments]

    def _builtin(self, node: Call) -> Kind:
        function = node.function
        if function in names.CROSSINGS:
            a, b = self._positional(node, "a, b")
            kinds = [self._numeric(a, function), self._numeric(b, function)]
            if Kind.SERIES not in kinds:
                raise failure(f"{function} needs a series on at least one side", node.line, node.column)
            return Kind.SIGNAL
        if function in names.ROLLING:
            series, window = self._positional(node, "series, bars")
            kind = self.check(series)
            if kind is not Kind.SERIES:
                raise failure(
                    f"{function}'s first argument must be a number series, not {kind.value}",
                    series.line,
                    series.column,
                )
            self._number_argument(window, f"{function}'s window")
            whole_number(window, self.scalars, 1, MAX_WINDOW, f"{function}'s window")
            return Kind.SERIES
        if function == "abs":
            (value,) = self._positional(node, "x")
            return self._numeric(value, "abs")
        a, b = self._positional(node, "a, b")  # min, max
        kinds = [self._numeric(a, function), self._numeric(b, function)]
        return Kind.SERIES if Kind.SERIES in kinds else Kind.NUMBER

    def _number_argument(self, node: Node, what: str) -> None:
        kind = self.check(node)
        if kind is not Kind.NUMBER:
            raise failure(f"{what} must be a number or a parameter, not {kind.value}", node.line, node.column)

    def _is_word(self, node: Node) -> bool:
        """A moving-average kind's name as a bare word (``ema`` in ``matype=ema``)."""
        return isinstance(node, Name) and node.name in names.MA_TYPE_NAMES and node.name not in self.scope

    def _indicator(self, node: Call) -> Kind:
        label = node.function
        function = names.indicator_names()[label]
        entry = info(function)
        if not entry.chartable:
            raise failure(f"{label} is not available in strategies: it {entry.note}", node.line, node.column)
        parameters = entry.parameters
        inputs: list[Node] = []
        given: dict[str, Node] = {}
        named = False
        for argument in node.arguments:
            value = argument.value
            if argument.keyword is not None:
                named = True
                self._keyword(label, parameters, argument, given)
                continue
            if named:
                raise failure(
                    f"{label}: a positional argument follows a named one", argument.line, argument.column
                )
            leading = not given and not isinstance(value, Date) and not self._is_word(value)
            if leading and self.check(value) in (Kind.SERIES, Kind.SIGNAL):
                inputs.append(value)
                continue
            if len(given) >= len(parameters):
                takes = ", ".join(p.name for p in parameters)
                raise failure(
                    f"{label} takes at most {len(parameters)} parameter{'s' if len(parameters) > 1 else ''}"
                    f" ({takes})"
                    if parameters
                    else f"{label} takes no parameters",
                    argument.line,
                    argument.column,
                )
            given[parameters[len(given)].name] = value
        self._inputs(node, label, entry.inputs, entry.source == "k2q", inputs)
        bound: list[tuple[str, Node]] = []
        for parameter in parameters:
            if parameter.name in given:
                self._parameter(label, parameter, given[parameter.name])
                bound.append((parameter.name, given[parameter.name]))
            elif parameter.default is None:
                raise failure(
                    f"{label} needs {parameter.name} ({parameter.display_name.lower()}, a date),"
                    f" e.g. {entry.example}",
                    node.line,
                    node.column,
                )
        call = IndicatorCall(
            name=label,
            function=function,
            inputs=tuple(inputs),
            params=tuple(bound),
            outputs=tuple(output.name for output in entry.outputs),
        )
        self.indicators[id(node)] = call
        indicator_spec(call, self.scalars, node)
        return Kind.OUTPUTS if len(call.outputs) > 1 else Kind.SERIES

    def _keyword(
        self, label: str, parameters: Sequence[IndicatorParameter], argument: Argument, given: dict[str, Node]
    ) -> None:
        keyword = argument.keyword
        assert keyword is not None
        known = [p.name for p in parameters]
        if keyword not in known:
            suggestion = names.closest(keyword, known)
            raise failure(
                f"{label} has no parameter {keyword!r}"
                + (f" — did you mean {suggestion}?" if suggestion else "")
                + (f" (it takes {', '.join(known)})" if known else " (it takes none)"),
                argument.line,
                argument.column,
                suggestion=suggestion,
            )
        if keyword in given:
            raise failure(f"{label}'s {keyword} is given twice", argument.line, argument.column)
        given[keyword] = argument.value

    def _inputs(self, node: Call, label: str, columns: Sequence[str], own: bool, inputs: list[Node]) -> None:
        if not inputs:
            return
        if own:
            raise failure(
                f"{label} computes over the bars only: it takes no series arguments ({label}(…) with"
                " its parameters only)",
                inputs[0].line,
                inputs[0].column,
            )
        for value in inputs:
            if self.check(value) is Kind.SIGNAL:
                raise failure(
                    f"{label}'s input must be a number series, not true/false per bar",
                    value.line,
                    value.column,
                )
        if len(inputs) != len(columns):
            raise failure(
                f"{label} takes {len(columns)} series ({', '.join(columns)}) or none (the bars' own),"
                f" not {len(inputs)}",
                node.line,
                node.column,
            )

    def _parameter(self, label: str, parameter: IndicatorParameter, value: Node) -> None:
        what = f"{label}'s {parameter.name}"
        if parameter.type == "date":
            if not isinstance(value, Date):
                raise failure(f"{what} must be a date such as 2024-03-01", value.line, value.column)
            return
        if parameter.type == "ma_type" and self._is_word(value):
            return
        if isinstance(value, Date):
            raise failure(f"{what} must be a number, not a date", value.line, value.column)
        if self._is_word(value):
            assert isinstance(value, Name)
            raise failure(
                f"{what} must be a number: {value.name} names a moving-average type, the value of a"
                " matype parameter",
                value.line,
                value.column,
            )
        self._number_argument(value, what)

    def _select(self, node: Select) -> Kind:
        kind = self.check(node.target, outputs=True)
        if kind is not Kind.OUTPUTS:
            raise failure(
                f"{_shown(node.target)} has no outputs to select (.{node.output}): selectors apply to"
                " indicators with several, e.g. macd(close).signal, bbands(close).upper",
                node.line,
                node.column,
            )
        call = self.indicators[id(node.target)]
        aliases = output_aliases(call.name, call.outputs)
        if node.output not in aliases:
            shown = selectors(call.name, call.outputs)
            suggestion = names.closest(node.output, aliases)
            raise failure(
                f"{call.name} has no output {node.output!r}"
                + (f" — did you mean {suggestion}?" if suggestion else "")
                + f" (its outputs: .{', .'.join(shown)})",
                node.line,
                node.column,
                expected=[f".{s}" for s in shown],
                suggestion=suggestion,
            )
        self.selections[id(node)] = aliases[node.output]
        return Kind.SERIES

    def _lag(self, node: Lag) -> Kind:
        kind = self.check(node.target)
        if kind not in (Kind.SERIES, Kind.SIGNAL):
            raise failure(
                f"only a series can be lagged; {_shown(node.target)} is {kind.value}", node.line, node.column
            )
        self._number_argument(node.bars, "a lag")
        whole_number(node.bars, self.scalars, -MAX_LAG, MAX_LAG, "a lag")
        return kind

    # --- statements ----------------------------------------------------------------------------

    def statement(self, statement: Assignment, parameters: list[ParamSpec]) -> Kind:
        """Check one assignment; record its name's kind (and value, when known before the bars)."""
        name, value = statement.name, statement.value
        what = names.what_is(name)
        if what is not None:
            raise failure(f"{name} is {what}: choose another name", statement.line, statement.column)
        self.current = name
        if isinstance(value, Call) and value.function == "param":
            spec = _param(name, value)
            parameters.append(spec)
            self.scalars[name] = spec.default
            kind = Kind.NUMBER
        elif name == names.SIZE_RULE and isinstance(value, Call) and value.function == "units":
            kind = self._units(value)
        else:
            kind = self.check(value)
            if kind.static:
                self.scalars[name] = static_value(value, self.scalars)
        self._rule(statement, kind)
        self.scope[name] = kind
        return kind

    def _units(self, node: Call) -> Kind:
        (count,) = self._positional(node, "units")
        if self._numeric(count, "units") is Kind.NUMBER:
            units = float(static_value(count, self.scalars))
            if not units > 0:
                raise failure(f"units must be above 0, not {format_number(units)}", count.line, count.column)
        return Kind.UNITS

    def _rule(self, statement: Assignment, kind: Kind) -> None:
        name, value = statement.name, statement.value
        if name in names.SIGNAL_RULES and not kind.logical:
            hint = f" (compare it, e.g. {_shown(value)} > 0)" if kind.numeric else ""
            raise failure(
                f"{name} must be true/false per bar, not {kind.value}{hint}", value.line, value.column
            )
        if name in names.PERCENT_RULES:
            if not kind.numeric:
                raise failure(
                    f"{name} must be a percent (a number or a number series), not {kind.value}",
                    value.line,
                    value.column,
                )
            percent = float(self.scalars[name]) if kind is Kind.NUMBER else 1.0
            if not percent > 0:
                raise failure(
                    f"{name} must be a percent above 0, not {format_number(percent)}",
                    value.line,
                    value.column,
                )
        if name == names.SIZE_RULE:
            if not kind.numeric and kind is not Kind.UNITS:
                raise failure(
                    f"size must be a fraction of equity in (0, 1] or units(n), not {kind.value}",
                    value.line,
                    value.column,
                )
            fraction = float(self.scalars[name]) if kind is Kind.NUMBER else 1.0
            if not 0 < fraction <= 1:
                raise failure(
                    f"size must be a fraction of equity above 0 and at most 1 (units(n) for a number"
                    f" of units), not {format_number(fraction)}",
                    value.line,
                    value.column,
                )

    def analysis(self, parameters: Sequence[ParamSpec]) -> Analysis:
        """What the checker found, frozen."""
        return Analysis(
            kinds=MappingProxyType(self.kinds),
            indicators=MappingProxyType(self.indicators),
            selections=MappingProxyType(self.selections),
            assigned=MappingProxyType(dict(self.scope)),
            parameters=tuple(parameters),
        )


_PARAM_USAGE: Final = "param(default, min=…, max=…), e.g. fast = param(10, min=2, max=100)"


def _literal(node: Node) -> float:
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Negate) and isinstance(node.operand, Number):
        return -node.operand.value
    raise failure(
        f"param's values are numbers written out (10, -5, 0.5), not {_shown(node)}", node.line, node.column
    )


def _param(name: str, call: Call) -> ParamSpec:
    default: float | None = None
    bounds: dict[str, float] = {}
    for index, argument in enumerate(call.arguments):
        if argument.keyword is None:
            if index > 0:
                raise failure(
                    f"param takes one default value, then min= and max= by name: {_PARAM_USAGE}",
                    argument.line,
                    argument.column,
                )
            default = _literal(argument.value)
        elif argument.keyword in ("min", "max"):
            if argument.keyword in bounds:
                raise failure(f"param's {argument.keyword} is given twice", argument.line, argument.column)
            bounds[argument.keyword] = _literal(argument.value)
        else:
            raise failure(f"param has no {argument.keyword}=: {_PARAM_USAGE}", argument.line, argument.column)
    if default is None:
        raise failure(f"param needs a default value: {_PARAM_USAGE}", call.line, call.column)
    low, high = bounds.get("min"), bounds.get("max")
    if low is not None and high is not None and low > high:
        raise failure(
            f"{name}'s min {format_number(low)} is above its max {format_number(high)}",
            call.line,
            call.column,
        )
    if (low is not None and default < low) or (high is not None and default > high):
        shown = ", ".join(f"{key}={format_number(value)}" for key, value in bounds.items())
        raise failure(
            f"{name}'s default {format_number(default)} is outside its range ({shown})",
            call.line,
            call.column,
        )
    integer = all(value == int(value) for value in (default, low, high) if value is not None)
    return ParamSpec(name=name, default=default, minimum=low, maximum=high, integer=integer)


def check_program(source: str, statements: Sequence[Assignment]) -> Program:
    """Check parsed statements: names, kinds, rules, parameters and catalog values at the defaults.

    Raises:
        StrategyError: every statement's first problem (at most :data:`MAX_PROBLEMS`).
    """
    targets: dict[str, int] = {}
    for statement in statements:
        targets.setdefault(statement.name, statement.line)
    checker = _Checker({}, {}, targets)
    parameters: list[ParamSpec] = []
    problems: list[ParseProblem] = []
    for statement in statements:
        if statement.name in checker.scope or statement.name in checker.broken:
            problems.append(
                ParseProblem(
                    message=f"{statement.name} is already assigned (line {targets[statement.name]}):"
                    " each name is assigned once",
                    line=statement.line,
                    column=statement.column,
                )
            )
            continue
        try:
            checker.statement(statement, parameters)
        except StrategyError as exc:
            problems.extend(exc.problems)
            checker.broken.add(statement.name)
        except _Broken:
            checker.broken.add(statement.name)
        if len(problems) >= MAX_PROBLEMS:
            break
    if not any(name in targets for name in names.ENTRY_RULES):
        problems.append(_no_entry(statements))
    if problems:
        raise StrategyError(problems[:MAX_PROBLEMS])
    return Program(source=source, statements=tuple(statements), analysis=checker.analysis(parameters))


def _no_entry(statements: Sequence[Assignment]) -> ParseProblem:
    """The problem of a program without entries, at a name that looks like one if there is one."""
    for statement in statements:
        suggestion = names.closest(statement.name, names.ENTRY_RULES)
        if suggestion is not None and statement.name not in names.RULES:
            return ParseProblem(
                message=f"a strategy assigns long_entry or short_entry: did you mean {suggestion}?",
                line=statement.line,
                column=statement.column,
                suggestion=suggestion,
            )
    return ParseProblem(
        message="a strategy assigns long_entry or short_entry (true/false per bar), e.g."
        " long_entry = crossover(sma(close, 10), sma(close, 30))",
        line=1,
        column=1,
    )


def check_expression(source: str, root: Node, params: Mapping[str, float]) -> Expression:
    """Check a screen expression: it may read price series and ``params``, and is true/false.

    Raises:
        StrategyError: a parameter's name is taken, a name is unknown, or it is not true/false.
    """
    problems: list[ParseProblem] = []
    for name, value in params.items():
        what = names.what_is(name)
        if what is not None:
            problems.append(
                ParseProblem(message=f"parameter {name!r} is {what}: choose another name", line=0, column=0)
            )
        elif not math.isfinite(value):
            problems.append(
                ParseProblem(message=f"parameter {name!r} must be a finite number", line=0, column=0)
            )
    if problems:
        raise StrategyError(problems)
    checker = _Checker(dict.fromkeys(params, Kind.NUMBER), {k: float(v) for k, v in params.items()}, {})
    kind = checker.check(root)
    if not kind.logical:
        raise failure(
            f"a screen expression is true/false per bar (a condition such as rsi(close, 14) < 30),"
            f" not {kind.value}",
            root.line,
            root.column,
        )
    used: list[str] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, Name) and node.name in params and node.name not in used:
            used.append(node.name)
        stack.extend(children(node))
    return Expression(
        source=source,
        root=root,
        parameters=tuple(sorted(used)),
        term_nodes=tuple(_terms(root, checker.kinds)),
        checked_with=tuple((name, float(value)) for name, value in params.items()),
        analysis=checker.analysis(()),
    )


def _terms(root: Node, kinds: Mapping[int, Kind]) -> list[tuple[str, Node]]:
    """The top-level terms of a condition: the series compared, and true/false series not compared."""
    found: dict[str, Node] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, Logical):
            stack.extend(reversed(node.operands))
        elif isinstance(node, Not):
            stack.append(node.operand)
        elif isinstance(node, Compare):
            for side in (node.left, node.right):
                if kinds[id(side)] is Kind.SERIES:
                    found.setdefault(render(side), side)
        elif kinds[id(node)] is Kind.SIGNAL:
            found.setdefault(render(node), node)
    return list(found.items())
