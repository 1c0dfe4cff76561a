"""The strategy language's syntax: the parser (lark, LALR) and the syntax tree it builds.

Text becomes frozen node dataclasses, each with its 1-based line and column; nothing of the text
is ever evaluated as Python. :func:`parse_program` and :func:`parse_expression` also check the
tree (names, types, catalog parameters: :mod:`pipelines.strategies.language.types`), so what they
return can be evaluated.

Hostile text is refused in time linear in its length: at most :data:`MAX_CODE_CHARS` characters,
numbers of at most :data:`MAX_NUMBER_CHARS` characters read with ``float()``, brackets counted as
they are read (refused past :data:`MAX_DEPTH`), and the tree's depth measured without recursion
before anything walks it recursively. The parser itself (LALR) and the tree building (callbacks
at each reduction) keep explicit stacks; left-associative chains come back flat.

>>> render(parse_node("-(close - open)/2 + sma(close,20)[1]"))
'-(close - open) / 2 + sma(close, 20)[1]'
>>> [statement.name for statement in parse_statements("fast = param(10)" + chr(10) + "long_entry = x")]
['fast', 'long_entry']
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.lark import PostLex

from pipelines.strategies.language.errors import StrategyError, failure
from pipelines.strategies.language.names import MAX_NAME_CHARS, RULES

if TYPE_CHECKING:
    from pipelines.strategies.language.types import Analysis
    from schemas.strategies import ParamSpec

MAX_CODE_CHARS: Final = 20_000
"""Longest strategy text (and screen expression)."""
MAX_STATEMENTS: Final = 200
MAX_DEPTH: Final = 64
"""Deepest nesting of an expression: brackets, and nodes inside nodes."""
MAX_NUMBER_CHARS: Final = 64
"""Longest number literal."""

# --- the tree ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Number:
    """A number literal (never negative: ``-5`` is :class:`Negate` of 5)."""

    value: float
    line: int
    column: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Boolean:
    """``true`` or ``false``."""

    value: bool
    line: int
    column: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Date:
    """An ISO date literal, ``2024-03-01``: only the value of a date parameter (``avwap``'s anchor)."""

    value: str
    line: int
    column: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Name:
    """A name: a price series, a parameter, an assigned name (or a moving-average kind as an argument)."""

    name: str
    line: int
    column: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Argument:
    """One argument of a call: positional (``keyword`` None) or named (``matype=ema``)."""

    keyword: str | None
    value: Node
    line: int
    column: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    """``function(arguments)``: a built-in or a catalog indicator."""

    function: str
    arguments: tuple[Argument, ...]
    line: int
    column: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Select:
    """``target.output``: one output of a multi-output indicator (``macd(close).signal``).

    Its line and column are the output name's.
    """

    target: Node
    output: str
    line: int
    column: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Lag:
    """``target[bars]``: the value ``bars`` bars before (after, when negative)."""

    target: Node
    bars: Node
    line: int
    column: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Negate:
    """``-operand``."""

    operand: Node
    line: int
    column: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Not:
    """``not operand``."""

    operand: Node
    line: int
    column: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Arithmetic:
    """``first op value op value …``, left to right, with operators of one precedence (+ - or * /)."""

    first: Node
    rest: tuple[tuple[str, Node], ...]
    line: int
    column: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Power:
    """``base ** exponent``."""

    base: Node
    exponent: Node
    line: int
    column: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Compare:
    """``left op right`` with op one of ``< <= > >= == !=``."""

    op: str
    left: Node
    right: Node
    line: int
    column: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Logical:
    """``a and b and …`` or ``a or b or …``."""

    op: str
    operands: tuple[Node, ...]
    line: int
    column: int


Node = (
    Number
    | Boolean
    | Date
    | Name
    | Call
    | Select
    | Lag
    | Negate
    | Not
    | Arithmetic
    | Power
    | Compare
    | Logical
)
"""Any expression node."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Assignment:
    """``name = value``: one statement of a program."""

    name: str
    value: Node
    line: int
    column: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Program:
    """A checked strategy: its statements in order, and what the checker found out about them.

    The analysis refers to the nodes by identity, so a copy (pickle, deepcopy) is parsed again.
    """

    source: str
    statements: tuple[Assignment, ...]
    analysis: Analysis = field(repr=False, compare=False)

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return parse_program, (self.source,)

    @property
    def parameters(self) -> list[ParamSpec]:
        """The declared parameters (``name = param(…)``), in order."""
        return list(self.analysis.parameters)

    @property
    def rules(self) -> list[str]:
        """The rule names assigned (``long_entry``, ``stop_loss`` …), in order."""
        return [statement.name for statement in self.statements if statement.name in RULES]

    @property
    def series_names(self) -> list[str]:
        """The other names assigned (neither rules nor parameters), in order."""
        declared = {spec.name for spec in self.analysis.parameters}
        return [s.name for s in self.statements if s.name not in RULES and s.name not in declared]


@dataclass(frozen=True, slots=True, kw_only=True)
class Expression:
    """A checked screen expression: true/false per bar (copied by parsing it again, as a program)."""

    source: str
    root: Node
    parameters: tuple[str, ...]
    """The parameter names it reads (given to :func:`parse_expression`)."""
    term_nodes: tuple[tuple[str, Node], ...]
    """Each top-level term (``rsi(close, 14)``, ``close``) by its canonical text."""
    checked_with: tuple[tuple[str, float], ...] = field(repr=False, compare=False)
    """The parameter values it was checked with (given to :func:`parse_expression`)."""
    analysis: Analysis = field(repr=False, compare=False)

    def __reduce__(self) -> tuple[Any, tuple[str, dict[str, float]]]:
        return parse_expression, (self.source, dict(self.checked_with))

    @property
    def terms(self) -> list[str]:
        """The canonical text of each top-level term, as :func:`evaluate_expression` names its values."""
        return [text for text, _ in self.term_nodes]


def children(node: Node) -> tuple[Node, ...]:
    """The nodes directly inside ``node``."""
    match node:
        case Call():
            return tuple(argument.value for argument in node.arguments)
        case Select():
            return (node.target,)
        case Lag():
            return (node.target, node.bars)
        case Negate() | Not():
            return (node.operand,)
        case Arithmetic():
            return (node.first, *(value for _, value in node.rest))
        case Power():
            return (node.base, node.exponent)
        case Compare():
            return (node.left, node.right)
        case Logical():
            return node.operands
        case _:
            return ()


# --- rendering ---------------------------------------------------------------------------------

_TIGHTEST: Final = 9


def _precedence(node: Node) -> int:
    match node:
        case Logical():
            return 1 if node.op == "or" else 2
        case Not():
            return 3
        case Compare():
            return 4
        case Arithmetic():
            return 5 if node.rest[0][0] in "+-" else 6
        case Negate():
            return 7
        case Power():
            return 8
        case _:
            return _TIGHTEST


def format_number(value: float) -> str:
    """A number as the language writes it: whole numbers without a point (``20``), others by repr."""
    if math.isfinite(value) and abs(value) < 1e15 and value == int(value):
        return str(int(value))
    return repr(value)


def render(node: Node) -> str:
    """The canonical text of ``node``: one space around operators, brackets only where needed.

    Parsing it gives the same tree (but for line and column).
    """

    def wrap(child: Node, at_least: int) -> str:
        text = render(child)
        return f"({text})" if _precedence(child) < at_least else text

    own = _precedence(node)
    match node:
        case Number():
            return format_number(node.value)
        case Boolean():
            return "true" if node.value else "false"
        case Date():
            return node.value
        case Name():
            return node.name
        case Call():
            arguments = (
                (f"{a.keyword}=" if a.keyword is not None else "") + render(a.value) for a in node.arguments
            )
            return f"{node.function}({', '.join(arguments)})"
        case Select():  # 20.upper would read as the number 20. and a name
            target = render(node.target)
            bare = _precedence(node.target) == _TIGHTEST and not isinstance(node.target, Number)
            return f"{target if bare else f'({target})'}.{node.output}"
        case Lag():
            return f"{wrap(node.target, _TIGHTEST)}[{render(node.bars)}]"
        case Negate():
            return f"-{wrap(node.operand, own)}"
        case Not():
            return f"not {wrap(node.operand, own)}"
        case Arithmetic():
            text = wrap(node.first, own)
            for op, value in node.rest:
                text += f" {op} {wrap(value, own + 1)}"
            return text
        case Power():
            return f"{wrap(node.base, _TIGHTEST)} ** {wrap(node.exponent, 7)}"
        case Compare():
            return f"{wrap(node.left, own + 1)} {node.op} {wrap(node.right, own + 1)}"
        case Logical():
            return f" {node.op} ".join(
                wrap(operand, own + (i > 0)) for i, operand in enumerate(node.operands)
            )


# --- parsing -----------------------------------------------------------------------------------

_OPENING: Final = frozenset({"_LPAR", "_LSQB"})
_CLOSING: Final = frozenset({"_RPAR", "_RSQB"})


class _Brackets(PostLex):
    """Drops newlines inside brackets (a line continues until they close) and refuses deep nesting."""

    always_accept = ("_NL",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        depth = 0
        for token in stream:
            if token.type in _OPENING:
                depth += 1
                if depth > MAX_DEPTH:
                    raise _too_deep(_line(token), _column(token))
            elif token.type in _CLOSING:
                depth = max(0, depth - 1)
            elif token.type == "_NL" and depth:
                continue
            yield token


def _line(item: Token | Node | Argument) -> int:
    return int(item.line or 0) if isinstance(item, Token) else item.line


def _column(item: Token | Node | Argument) -> int:
    return int(item.column or 0) if isinstance(item, Token) else item.column


def _too_deep(line: int, column: int) -> StrategyError:
    return failure(
        f"the expression nests more than {MAX_DEPTH} deep: name parts of it (x = …) and use the names",
        line,
        column,
    )


class _Build(Transformer[Token, Any]):
    """Builds nodes at each reduction of the LALR parse (no tree of lark's, no recursion)."""

    def program(self, children: list[Assignment]) -> list[Assignment]:
        return children

    def screen(self, children: list[Node]) -> Node:
        return children[0]

    def statement(self, children: list[Any]) -> Assignment:
        name, value = children
        return Assignment(name=_name_text(name), value=value, line=_line(name), column=_column(name))

    def or_test(self, children: list[Node]) -> Logical:
        return Logical(op="or", operands=tuple(children), line=children[0].line, column=children[0].column)

    def and_test(self, children: list[Node]) -> Logical:
        return Logical(op="and", operands=tuple(children), line=children[0].line, column=children[0].column)

    def negation(self, children: list[Any]) -> Not:
        keyword, operand = children
        return Not(operand=operand, line=_line(keyword), column=_column(keyword))

    def comparison(self, children: list[Any]) -> Compare:
        left, op, right = children
        return Compare(op=str(op), left=left, right=right, line=left.line, column=left.column)

    def sum(self, children: list[Any]) -> Arithmetic:
        return _chain(children)

    def product(self, children: list[Any]) -> Arithmetic:
        return _chain(children)

    def negative(self, children: list[Any]) -> Negate:
        minus, operand = children
        return Negate(operand=operand, line=_line(minus), column=_column(minus))

    def power(self, children: list[Node]) -> Power:
        base, exponent = children
        return Power(base=base, exponent=exponent, line=base.line, column=base.column)

    def lag(self, children: list[Node]) -> Lag:
        target, bars = children
        return Lag(target=target, bars=bars, line=target.line, column=target.column)

    def select(self, children: list[Any]) -> Select:
        target, output = children
        return Select(target=target, output=_name_text(output), line=_line(output), column=_column(output))

    def number(self, children: list[Token]) -> Number:
        (token,) = children
        text = str(token)
        if len(text) > MAX_NUMBER_CHARS:
            raise failure(
                f"a number of {len(text)} characters: numbers have at most {MAX_NUMBER_CHARS}",
                _line(token),
                _column(token),
            )
        value = float(text)
        if not math.isfinite(value):
            raise failure(
                f"{text} is too large a number (the largest is about 1.8e308)", _line(token), _column(token)
            )
        return Number(value=value, line=_line(token), column=_column(token))

    def date(self, children: list[Token]) -> Date:
        (token,) = children
        try:
            day = dt.date.fromisoformat(str(token))
        except ValueError:
            raise failure(f"{token} is not a date (year-month-day)", _line(token), _column(token)) from None
        return Date(value=day.isoformat(), line=_line(token), column=_column(token))

    def name(self, children: list[Token]) -> Name:
        (token,) = children
        return Name(name=_name_text(token), line=_line(token), column=_column(token))

    def true(self, children: list[Token]) -> Boolean:
        return Boolean(value=True, line=_line(children[0]), column=_column(children[0]))

    def false(self, children: list[Token]) -> Boolean:
        return Boolean(value=False, line=_line(children[0]), column=_column(children[0]))

    def call(self, children: list[Any]) -> Call:
        function, arguments = children
        return Call(
            function=_name_text(function),
            arguments=tuple(arguments or ()),
            line=_line(function),
            column=_column(function),
        )

    def arguments(self, children: list[Any]) -> list[Argument]:
        return [
            child
            if isinstance(child, Argument)
            else Argument(keyword=None, value=child, line=child.line, column=child.column)
            for child in children
        ]

    def keyword(self, children: list[Any]) -> Argument:
        name, value = children
        return Argument(keyword=_name_text(name), value=value, line=_line(name), column=_column(name))


def _chain(children: list[Any]) -> Arithmetic:
    first = children[0]
    rest = tuple((str(children[i]), children[i + 1]) for i in range(1, len(children), 2))
    return Arithmetic(first=first, rest=rest, line=first.line, column=first.column)


def _name_text(token: Token) -> str:
    text = str(token)
    if len(text) > MAX_NAME_CHARS:
        raise failure(
            f"a name of {len(text)} characters: names have at most {MAX_NAME_CHARS}",
            _line(token),
            _column(token),
        )
    return text


@functools.cache
def _parser() -> Lark:
    grammar = (Path(__file__).parent / "grammar.lark").read_text()
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        postlex=_Brackets(),
        start=["program", "screen"],
        transformer=_Build(),
        maybe_placeholders=True,
        propagate_positions=False,
    )


def _check_size(text: str) -> None:
    if len(text) > MAX_CODE_CHARS:
        line = text.count("\n", 0, MAX_CODE_CHARS) + 1
        column = MAX_CODE_CHARS - (text.rfind("\n", 0, MAX_CODE_CHARS) + 1) + 1
        raise failure(
            f"the text has {len(text):,} characters: at most {MAX_CODE_CHARS:,} are allowed", line, column
        )


def _check_depth(root: Node) -> None:
    """Refuse a tree deeper than :data:`MAX_DEPTH`, walking it with a stack (any depth is safe here)."""
    stack: list[tuple[Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _too_deep(node.line, node.column)
        stack.extend((child, depth + 1) for child in children(node))


def _parse(text: str, start: str) -> Any:
    _check_size(text)
    try:
        return _parser().parse(text, start=start)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text, start) from None


def parse_statements(code: str) -> tuple[Assignment, ...]:
    """The statements of strategy text, unchecked (syntax, limits and depth only).

    Raises:
        StrategyError: the text does not parse, or passes a limit.
    """
    statements: list[Assignment] = _parse(code, "program")
    if len(statements) > MAX_STATEMENTS:
        extra = statements[MAX_STATEMENTS]
        raise failure(
            f"the strategy has {len(statements)} statements: at most {MAX_STATEMENTS} are allowed",
            extra.line,
            extra.column,
        )
    for statement in statements:
        _check_depth(statement.value)
    return tuple(statements)


def parse_node(text: str) -> Node:
    """One expression's tree, unchecked (syntax, limits and depth only).

    Raises:
        StrategyError: the text does not parse, or passes a limit.
    """
    root: Node = _parse(text, "screen")
    _check_depth(root)
    return root


def parse_program(code: str) -> Program:
    """Parse and check strategy text.

    Raises:
        StrategyError: every problem found (syntax stops at the first; names, types and parameter
            ranges are checked statement by statement), with line, column and what was expected.
    """
    from pipelines.strategies.language.types import check_program  # types builds on the nodes here

    return check_program(code, parse_statements(code))


def parse_expression(text: str, params: Mapping[str, float] | None = None) -> Expression:
    """Parse and check a screen expression: true/false per bar, no assignments.

    ``params`` are the parameters it may read (a screen request's), by name; any other name that
    is not a price series is unknown.

    Raises:
        StrategyError: the text does not parse, names something unknown, or is not true/false.
    """
    from pipelines.strategies.language.types import check_expression  # types builds on the nodes here

    return check_expression(text, parse_node(text), params or {})


# --- syntax errors -----------------------------------------------------------------------------

_WORDS: Final[Mapping[str, str]] = {
    "NUMBER": "a number",
    "NAME": "a name",
    "_LPAR": "'('",
    "_RPAR": "')'",
    "_RSQB": "']'",
    "_COMMA": "','",
    "_ASSIGN": "'='",
    "MINUS": "'-'",
    "NOT": "not",
    "TRUE": "true",
    "FALSE": "false",
    "DATE": "a date",
    "PLUS": "'+'",
    "STAR": "'*'",
    "SLASH": "'/'",
    "_POW": "'**'",
    "COMPARE": "a comparison (< <= > >= == !=)",
    "_AND": "and",
    "_OR": "or",
    "_LSQB": "'['",
    "_DOT": "'.'",
    "_NL": "a new line",
    "$END": "the end of the text",
}
"""Terminals as people read them, in the order messages list them."""
_OPERAND: Final = frozenset({"NUMBER", "NAME", "_LPAR", "MINUS", "NOT", "TRUE", "FALSE", "DATE"})
_OPERATORS: Final = frozenset(
    {"PLUS", "MINUS", "STAR", "SLASH", "_POW", "COMPARE", "_AND", "_OR", "_LSQB", "_DOT"}
)
_FOUND: Final[Mapping[str, str]] = {"_NL": "end of the line", "$END": "end of the text"}


def _open_brackets(text: str, end: int) -> list[str]:
    """The brackets open at ``end`` (comments skipped), innermost last."""
    stack: list[str] = []
    in_comment = False
    for char in text[:end]:
        if in_comment:
            in_comment = char != "\n"
        elif char == "#":
            in_comment = True
        elif char in "([":
            stack.append(char)
        elif char in ")]" and stack:
            stack.pop()
    return stack


def _expected(terminals: set[str], brackets: list[str]) -> set[str]:
    """The terminals that fit where the text is: no closing bracket outside brackets, no newline inside."""
    if not brackets:
        return terminals - {"_RPAR", "_RSQB", "_COMMA"}
    if brackets[-1] == "(":
        return terminals - {"_RSQB", "_NL", "$END"}
    return terminals - {"_RPAR", "_COMMA", "_NL", "$END"}


def _summary(terminals: set[str]) -> str:
    """What was expected, briefly: operands as "a number, a name or '('", operators as "an operator"."""
    shown: list[str] = []
    skip: frozenset[str] = frozenset()
    if {"NUMBER", "NAME", "_LPAR"} <= terminals:
        shown += ["a number", "a name", "'('"]
        skip = _OPERAND | _OPERATORS
    elif len(terminals & _OPERATORS) >= 3:
        shown.append("an operator")
        skip = _OPERATORS
    shown += [word for terminal, word in _WORDS.items() if terminal in terminals and terminal not in skip]
    if not shown:
        return "something else"
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


def _end_position(text: str) -> tuple[int, int]:
    body = text.rstrip()
    line = body.count("\n") + 1
    return line, len(body) - (body.rfind("\n") + 1) + 1


_STATEMENT_TERMINALS: Final = frozenset({"NAME", "_ASSIGN", "_NL", "$END"})
"""What a program expects where a statement starts or its name has been read."""


def _syntax_error(exc: UnexpectedInput, text: str, start: str) -> StrategyError:
    line, column = int(exc.line), int(exc.column)
    hint = ""
    if isinstance(exc, UnexpectedCharacters):
        position = int(exc.pos_in_stream or 0)
        char = text[position : position + 1]
        found = f"unexpected character {char!r}"
        terminals = set(exc.allowed or ())
        if terminals & {"NUMBER", "NAME", "_ASSIGN"}:  # the lexer always accepts newlines; here none fits
            terminals -= {"_NL", "$END"}
        if char in ("'", '"'):
            hint = " (the language has no strings)"
    elif isinstance(exc, UnexpectedToken):
        token = exc.token
        terminals = set(exc.expected)
        if token.type == "$END":
            found = "unexpected end of the text"
            line, column = _end_position(text)
            position = len(text)
        else:
            shown = str(token) if len(str(token)) <= 24 else str(token)[:23] + "…"
            found = f"unexpected {_FOUND.get(token.type, repr(shown))}"
            position = int(token.start_pos or 0)
        if token.type == "_NL":
            hint = ": a line continues on the next only inside brackets"
        elif token.type == "COMPARE" and "_AND" in terminals:
            hint = ": comparisons do not chain, write a < b and b < c"
        elif token.type == "_ASSIGN":
            where = (
                "a screen has no assignments"
                if start == "screen"
                else "'=' assigns a name at the start of a line"
            )
            hint = f": {where}; compare with =="
    else:  # pragma: no cover - LALR raises only the two above
        return failure(str(exc), line, column)
    terminals = _expected(terminals, _open_brackets(text, position))
    if (
        not hint
        and start == "program"
        and (terminals & {"NAME", "_ASSIGN"})
        and terminals <= _STATEMENT_TERMINALS
    ):
        hint = ": each line assigns a name, name = expression"
    elif not hint and start == "screen" and terminals <= {"_NL", "$END"}:
        hint = ": a screen is one expression"
    words = [word for terminal, word in _WORDS.items() if terminal in terminals]
    return failure(f"{found}; expected {_summary(terminals)}{hint}", line, column, expected=words)
