"""The AI assistant's read-only SQL tool over the bar store: one SELECT, on allowed tables, within budgets.

Who refuses what
----------------
Every statement the tool sends runs with :func:`readonly_settings`: the time, read, memory and
row budgets and ``readonly = 1``, sent with that statement alone (a ``SETTINGS`` clause on chDB,
request parameters on a server). ClickHouse then refuses, itself, any write, DDL, ``SET`` or
change of a setting, including the statement's own ``SETTINGS`` clause (code 164, ``READONLY``),
and the table functions that reach outside (``file``, ``url``, ``s3``, ``remote``, ``mysql`` ...),
and stops a statement past a budget.

``readonly`` does not limit *which* tables a SELECT reads. On a ClickHouse server that is what
grants are for: the assistant connects as a user that may only ``SELECT`` the allowed tables
(:func:`assistant_user_ddl`), and ClickHouse refuses any other (code 497, ``ACCESS_DENIED``).
chDB cannot: its embedded engine runs every connection as its one ``default`` user (a ``user=``
connection option is accepted and ignored), takes users only from a users XML file read when the
engine starts (this process's engine starts without one), has no writable access storage
(``CREATE USER`` fails with code 497, or 514 once access management is on) and never reads
``access_control_improvements``, so ``EXECUTE AS`` stays disabled (code 344). Its default
database also overlays the file system (``SELECT * FROM `/etc/passwd```), which ``readonly``
stops only until the engine has once opened that path.

So, on both engines, before running anything the tool asks ClickHouse what the statement is and
what it reads, and runs it only when the answer is one SELECT over allowed tables:

1. ClickHouse's parser reads the text (``formatQuerySingleLine``, the text a bound parameter):
   a syntax error or a second statement is refused there (code 62, "Multi-statements are not
   allowed"). From here on the tool uses ClickHouse's rendering of that one statement; a quoted
   name in it with an escape (a line break) or ``: `` is refused, so that each line of
   ClickHouse's dumps below is one node and says what it is.
2. ``EXPLAIN AST`` names the statement: anything but a SELECT (an INSERT, ALTER, SET, KILL,
   SHOW, EXPLAIN ...) is refused without being run, and so is a SELECT that picks its own output
   (``FORMAT``, or ``INTO OUTFILE``, which chDB writes even in read-only mode).
3. ``EXPLAIN QUERY TREE run_passes = 0``, the query tree before analysis (which runs nothing),
   shows its table expressions and functions: a table function, a function that reads something
   else than the query's tables (``file``, ``dictGet`` ..., ``joinGet``) or a table not allowed is
   refused. A plain name that is no allowed table (a ``WITH`` name) must be one ClickHouse knows
   no table or file by (``EXISTS TABLE``). This keeps the next step safe: analysis evaluates
   scalar subqueries and constant expressions, which may then only read allowed tables.
4. ``EXPLAIN QUERY TREE``, ClickHouse's analyzer with every name resolved, must show only the
   allowed tables of the current database (and ``system.one``, what a SELECT without ``FROM``
   reads).
5. The statement runs. ``max_result_rows`` (with ``result_overflow_mode = 'break'``) stops it
   one row past ``max_rows``; the rows are cut to ``max_rows`` and marked truncated.

The same statements run on chDB and on a server; on a server the grants add ClickHouse's own
refusal of any other table to steps 3 to 5.

A statement past its time budget raises :class:`~warehouse.errors.QueryBudgetExceeded` (from
:meth:`ClickHouse.run`); any other refusal, or error of ClickHouse, raises :class:`SqlRefused`,
whose message says in words what was refused and, when ClickHouse refused, its code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import functools
import ipaddress
import math
import re
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

import msgspec
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import Error as DriverError
from clickhouse_connect.driver.query import QueryResult, TzMode

from warehouse.clickhouse.client import OVER_BUDGET_CODES, ClickHouse, error_code
from warehouse.clickhouse.ddl import BARS_TABLE, IDENTIFIER, INDICATOR_VALUES_TABLE, PROJECTION_VALUES_TABLE
from warehouse.errors import WarehouseClientError

ALLOWED_TABLES: Final = (BARS_TABLE, INDICATOR_VALUES_TABLE, PROJECTION_VALUES_TABLE)
"""The tables the assistant may read, in the current database. Rollups and their dirty marks are
internal (a rollup is exact only once its marks are rebuilt), so they are not among them."""

IMPLICIT_TABLE: Final = "system.one"
"""The one-row table a SELECT without ``FROM`` reads; always allowed."""

ASSISTANT_USER: Final = "k2q_assistant"
"""The server user the assistant's statements run as (see :func:`assistant_user_ddl`)."""

MAX_SQL_CHARS: Final = 10_000
"""Longest SQL text accepted (checked before anything is sent)."""

MAX_ROWS: Final = 100_000
"""Most rows a caller may ask for."""

MAX_SECONDS: Final = 300.0
"""Longest time budget a caller may ask for."""

MAX_ROWS_TO_READ: Final = 500_000_000
"""Most rows one statement may read (``max_rows_to_read``): years of every stored minute."""

MAX_BYTES_TO_READ: Final = 40 * 2**30
"""Most uncompressed bytes one statement may read (``max_bytes_to_read``)."""

MAX_MEMORY_USAGE: Final = 2 * 2**30
"""Most memory one statement may use (``max_memory_usage``)."""

BUDGET_CODES: Final = {158: "rows read", 241: "memory", 307: "bytes read"}
"""ClickHouse's ``TOO_MANY_ROWS``, ``MEMORY_LIMIT_EXCEEDED`` and ``TOO_MANY_BYTES``: a statement
stopped by a budget other than time (which raises :class:`~warehouse.errors.QueryBudgetExceeded`)."""

_WRITES: Final = frozenset(
    {
        "InsertQuery", "AlterQuery", "CreateQuery", "DropQuery", "TruncateQuery", "Rename", "UndropQuery",
        "AttachQuery", "DetachQuery", "OptimizeQuery", "DeleteQuery", "UpdateQuery", "Set", "SYSTEM",
        "KillQueryQuery", "BackupQuery", "CreateUserQuery", "CreateRoleQuery", "GrantQuery",
        "CreateSQLFunctionQuery", "DropFunctionQuery", "ASTTransactionControl",
    }
)  # fmt: skip
"""Statement kinds, as ClickHouse's parser names them, that a refusal calls writes (its words
only: every statement but a SELECT is refused)."""

_IN_FUNCTIONS: Final = frozenset(
    name.lower()
    for name in (
        "in",
        "notIn",
        "globalIn",
        "globalNotIn",
        "nullIn",
        "notNullIn",
        "globalNullIn",
        "globalNotNullIn",
    )
)
"""Functions whose second argument may name a table (``x IN t``)."""

_OUTSIDE_FUNCTIONS: Final = frozenset({"file", "joinget", "joingetornull", "hascolumnintable"})
"""Functions (in lower case) that read something else than the query's tables; so does every
``dict*`` function (``dictGet`` ...)."""

_TABLE_SECTIONS: Final = frozenset(
    {"JOIN TREE", "TABLE EXPRESSION", "LEFT TABLE EXPRESSION", "RIGHT TABLE EXPRESSION"}
)
"""Query tree sections whose direct children are table expressions."""

# The query tree's node lines. An alias is any text without a comma; the patterns match whole
# lines, so no alias can pass for the attributes after it.
_NAME: Final = r"[A-Za-z_][A-Za-z0-9_]*"
_ALIAS: Final = r"(?:, alias: [^,]+)?"
_MODIFIERS: Final = r"(?:, final: [01])?(?:, sample_size: [^,]+(?:, sample_offset: [^,]+)?)?"
_UNRESOLVED_TABLE: Final = re.compile(
    rf"IDENTIFIER id: \d+{_ALIAS}, identifier: (?P<name>{_NAME}(?:\.{_NAME})?){_MODIFIERS}"
)
_RESOLVED_TABLE: Final = re.compile(
    rf"TABLE id: \d+{_ALIAS}, table_name: (?P<name>{_NAME}\.{_NAME}){_MODIFIERS}"
)
_FUNCTION: Final = re.compile(
    rf"FUNCTION id: \d+{_ALIAS}, function_name: (?P<name>{_NAME}), function_type: \w+"
)

_CODE_NAME: Final = re.compile(r"(?:\.?\s*\(([A-Z][A-Z_]+)\))+\.?\s*$")
"""The error name ClickHouse ends a message with (twice when nested: ``... (READONLY). (READONLY)``)."""
_VERSION: Final = re.compile(r"\s*\(version [^)]*\)")
_OWN_SETTINGS: Final = re.compile(r"\s+SETTINGS allow_introspection_functions = .*?readonly = '1'", re.S)
"""The tool's settings clause, which ClickHouse quotes in a message's scope."""
_PARSE_SCOPE: Final = re.compile(r"[.:\s]*In scope SELECT formatQuerySingleLine\(.*$", re.S)
"""The tool's parsing query, which ClickHouse names as the scope of a syntax error."""


class SqlRefused(WarehouseClientError):
    """The assistant's SQL was refused, or ClickHouse rejected it; the message says what and why.

    ``code`` is ClickHouse's error code when ClickHouse refused (164 ``READONLY`` for a write or a
    settings change, 62 ``SYNTAX_ERROR``, 497 ``ACCESS_DENIED`` ...), ``None`` when the tool did.
    """

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class SqlResult(msgspec.Struct, frozen=True, kw_only=True):
    """The answer of one SELECT, JSON-ready.

    Values: numbers, text, booleans and ``None`` as they are (NaN and infinities as ``None``);
    ``DateTime`` and ``DateTime64`` as ISO 8601 text with an offset, the column's zone or UTC
    (the bar store's times: ``2024-03-04T14:30:00+00:00``); ``Date`` as ``YYYY-MM-DD``;
    ``Decimal``, UUIDs and IP addresses as text; arrays and tuples as lists; maps as objects with
    text keys; bytes as text.
    """

    columns: list[str]
    types: list[str]
    """The ClickHouse type of each column, e.g. ``DateTime64(3, 'UTC')``."""
    rows: list[list[Any]]
    truncated: bool
    """More rows than ``max_rows`` matched; ``rows`` holds the first ``max_rows``."""
    elapsed_ms: float
    """Wall time of the whole call: the checks and the statement."""


def readonly_settings(*, max_rows: int | None, max_seconds: float) -> dict[str, Any]:
    """The settings every statement of the tool runs with; ``max_rows`` bounds the answer's rows.

    ``max_rows`` is ``None`` for the tool's own checks, whose answers must be whole. ``readonly``
    comes last: where ClickHouse applies a clause's settings one by one, the others are set first.

    >>> settings = readonly_settings(max_rows=10, max_seconds=2.0)
    >>> settings["max_result_rows"], list(settings)[-1]
    (11, 'readonly')
    """
    settings: dict[str, Any] = {
        "allow_introspection_functions": 0,
        "max_execution_time": max_seconds,
        "timeout_overflow_mode": "throw",
        "max_rows_to_read": MAX_ROWS_TO_READ,
        "max_bytes_to_read": MAX_BYTES_TO_READ,
        "read_overflow_mode": "throw",
        "max_memory_usage": MAX_MEMORY_USAGE,
    }
    if max_rows is not None:
        # One row past the limit tells that the answer was cut.
        settings |= {"max_result_rows": max_rows + 1, "result_overflow_mode": "break"}
    return settings | {"readonly": 1}


def assistant_user_ddl(
    database: str, password_sha256_hex: str, *, user: str = ASSISTANT_USER, cluster: str | None = None
) -> tuple[str, ...]:
    """The statements that create the assistant's server user, who may only read the allowed tables.

    An administrator (or a schema step) runs them once on a ClickHouse server; the assistant then
    gets a :class:`ClickHouse` connected as ``user`` (``connect_clickhouse`` with the user's URL).
    On a cluster the user also reads the ``_local`` tables the Distributed tables read on each shard.

    >>> assistant_user_ddl("k2q", "ab" * 32)[1]
    'GRANT SELECT ON k2q.bars TO k2q_assistant'

    Raises:
        ValueError: a name is not a plain identifier, or the hash is not 64 hex digits.
    """
    for name in (database, user, *([cluster] if cluster else [])):
        if not IDENTIFIER.fullmatch(name):
            raise ValueError(f"not a ClickHouse identifier: {name!r}")
    if not re.fullmatch(r"[0-9a-fA-F]{64}", password_sha256_hex):
        raise ValueError("the password hash must be 64 hex digits (SHA-256)")
    on_cluster = f" ON CLUSTER {cluster}" if cluster else ""
    tables = [*ALLOWED_TABLES, *(f"{table}_local" for table in ALLOWED_TABLES if cluster)]
    return (
        f"CREATE USER IF NOT EXISTS {user}{on_cluster}"
        f" IDENTIFIED WITH sha256_hash BY '{password_sha256_hex}' DEFAULT DATABASE {database}",
        *(f"GRANT{on_cluster} SELECT ON {database}.{table} TO {user}" for table in tables),
    )


async def run_readonly(
    clickhouse: ClickHouse, sql: str, *, max_rows: int = 1000, max_seconds: float = 10.0
) -> SqlResult:
    """Run ``sql``, one SELECT over :data:`ALLOWED_TABLES`, within the budgets (see the module doc).

    Raises:
        SqlRefused: the tool or ClickHouse refused the SQL, or ClickHouse rejected it.
        QueryBudgetExceeded: it ran past ``max_seconds``.
        ValueError: ``max_rows`` or ``max_seconds`` is out of range.
    """
    if not 1 <= max_rows <= MAX_ROWS:
        raise ValueError(f"max_rows must be 1 to {MAX_ROWS:,}")
    if not 0 < max_seconds <= MAX_SECONDS:
        raise ValueError(f"max_seconds must be above 0 and at most {MAX_SECONDS:g}")
    if len(sql) > MAX_SQL_CHARS:
        raise SqlRefused(f"the SQL is {len(sql):,} characters long; at most {MAX_SQL_CHARS:,} are accepted")
    started = time.perf_counter()
    columns, types, rows = await clickhouse.run(
        functools.partial(_run, sql=sql, max_rows=max_rows, max_seconds=max_seconds), "assistant_sql"
    )
    return SqlResult(
        columns=columns,
        types=types,
        rows=[[_jsonable(value) for value in row] for row in rows[:max_rows]],
        truncated=len(rows) > max_rows,
        elapsed_ms=(time.perf_counter() - started) * 1000,
    )


def _run(
    client: Client, *, sql: str, max_rows: int, max_seconds: float
) -> tuple[list[str], list[str], list[Sequence[Any]]]:
    """Check ``sql`` and run it (steps 1 to 5 of the module doc): column names, types and rows."""
    checks = readonly_settings(max_rows=None, max_seconds=max_seconds)
    try:
        parsed = _query(
            client, "SELECT formatQuerySingleLine({sql:String}), currentDatabase()", checks, {"sql": sql}
        ).result_rows[0]
        statement, database = str(parsed[0]), str(parsed[1])
        _check_quoted_names(statement)
        _check_statement(_lines(client, f"EXPLAIN AST {statement}", checks))
        allowed = {*ALLOWED_TABLES, *(f"{database}.{table}" for table in ALLOWED_TABLES), IMPLICIT_TABLE}
        unknown = _check_tree(
            _lines(client, f"EXPLAIN QUERY TREE run_passes = 0 {statement}", checks), allowed
        )
        for name in sorted(unknown):
            if _query(client, "EXISTS TABLE {name:Identifier}", checks, {"name": name}).result_rows[0][0]:
                raise SqlRefused(f"the query reads {database}.{name}, {_NOT_ALLOWED}")
        _check_tree(_lines(client, f"EXPLAIN QUERY TREE {statement}", checks), allowed, resolved=True)
        settings = readonly_settings(max_rows=max_rows, max_seconds=max_seconds)
        result = _query(client, statement, settings, tz_mode="aware")
        columns = [str(name) for name in result.column_names]
        types = [column_type.name for column_type in result.column_types]
        if not columns:  # chDB sends no header with an empty answer; ClickHouse describes it
            described = _query(client, f"DESCRIBE TABLE ({statement})", checks).result_rows
            columns, types = [str(row[0]) for row in described], [str(row[1]) for row in described]
        return columns, types, list(result.result_rows)
    except DriverError as exc:
        code = error_code(exc)
        if code in OVER_BUDGET_CODES:
            raise  # ClickHouse.run raises QueryBudgetExceeded
        raise SqlRefused(_describe(exc, code), code=code) from exc


_NOT_ALLOWED: Final = f"which is not one of the tables the assistant may read ({', '.join(ALLOWED_TABLES)})"


def _query(
    client: Client,
    sql: str,
    settings: dict[str, Any],
    parameters: dict[str, Any] | None = None,
    *,
    tz_mode: TzMode | None = None,
) -> QueryResult:
    """Run one statement, ``settings`` riding on it alone.

    A statement the driver would send as a command or an insert is not sent: on chDB the driver
    would apply the settings with ``SET`` on the connection the application shares, and
    ``readonly`` would then stop it setting them back. Only SELECT, EXPLAIN, EXISTS and DESCRIBE
    statements come here.
    """
    context = client.create_query_context(
        query=sql, parameters=parameters, settings=settings, tz_mode=tz_mode
    )
    if context.is_command or context.is_insert:
        raise SqlRefused("only one SELECT may run")
    return client.query(context=context)


def _lines(client: Client, sql: str, settings: dict[str, Any]) -> list[str]:
    return [str(row[0]) for row in _query(client, sql, settings).result_rows]


def _check_quoted_names(statement: str) -> None:
    """Refuse a quoted name that could pass for more than a name in ClickHouse's dumps.

    ClickHouse prints names as they are in its ``EXPLAIN`` dumps: a line break in a name would
    split a node's line in two, and ``: `` would pass for another attribute of the node. Its
    rendering of the statement escapes a line break (and a backslash) in a quoted name; this reads
    that rendering, skipping string literals.
    """
    index = 0
    while index < len(statement):
        quote = statement[index]
        if quote not in "'`\"":
            index += 1
            continue
        end = index + 1
        while end < len(statement) and statement[end] != quote:
            end += 2 if statement[end] == "\\" else 1
        name = statement[index + 1 : end]
        if quote != "'" and ("\\" in name or ": " in name):
            raise SqlRefused(
                f"the quoted name {statement[index : end + 1]} holds a line break, a backslash or ': ';"
                " use plainer names"
            )
        index = end + 1


def _check_statement(ast: list[str]) -> None:
    """Refuse anything but one SELECT that leaves its output to the tool (from ``EXPLAIN AST`` lines)."""
    kind = ast[0].split(" ", 1)[0] if ast else ""
    if kind in _WRITES:
        raise SqlRefused(
            f"ClickHouse parses this as {kind}, a write: the SQL tool runs one SELECT, read-only"
        )
    if kind != "SelectWithUnionQuery":
        raise SqlRefused(f"ClickHouse parses this as {kind or 'nothing'}: the SQL tool runs only one SELECT")
    for line in ast[1:]:
        child = line.strip()
        # The statement's own clauses are one space in; the SETTINGS and FORMAT the driver adds pass.
        if line.startswith(" ") and not line.startswith("  ") and not child.startswith("ExpressionList"):
            if child not in ("Set", "Identifier Native"):
                raise SqlRefused(
                    "a SELECT may not pick its output (FORMAT, INTO OUTFILE); the tool returns the rows"
                )


@dataclasses.dataclass
class _Node:
    indent: int
    text: str
    children: list[_Node] = dataclasses.field(default_factory=list)


def _tree(lines: list[str]) -> list[_Node]:
    """The nodes of an indented ``EXPLAIN QUERY TREE`` dump, each under the line it is indented under."""
    roots: list[_Node] = []
    stack: list[_Node] = []
    for line in lines:
        text = line.lstrip(" ")
        if not text.strip():
            continue
        node = _Node(len(line) - len(text), text.rstrip())
        while stack and stack[-1].indent >= node.indent:
            stack.pop()
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)
    return roots


def _walk(nodes: list[_Node]) -> Iterator[_Node]:
    for node in nodes:
        yield node
        yield from _walk(node.children)


def _check_tree(lines: list[str], allowed: set[str], *, resolved: bool = False) -> set[str]:
    """Refuse a query tree that reads anything but ``allowed``; return the plain names left to check.

    Before analysis (``resolved`` false) a plain name in a table position that is no allowed table
    may still be a ``WITH`` name: those come back, for ClickHouse to say whether such a table
    exists. After analysis every table is ``database.table``.
    """
    unknown: set[str] = set()
    for node in _walk(_tree(lines)):
        text = node.text
        if text.startswith("TABLE_FUNCTION "):
            name = text.partition("table_function_name: ")[2].split(",", 1)[0] or "a table function"
            raise SqlRefused(
                f"the query calls the table function {name}(); the assistant may read only the tables"
                f" {', '.join(ALLOWED_TABLES)}"
            )
        if text.startswith("TABLE id:"):
            table = _RESOLVED_TABLE.fullmatch(text)
            if table is None or table["name"] not in allowed:
                name = table["name"] if table else text.partition("table_name: ")[2]
                raise SqlRefused(f"the query reads {name}, {_NOT_ALLOWED}")
        if resolved:
            continue
        if text.startswith("FUNCTION "):
            function = _FUNCTION.fullmatch(text)
            if function is None:
                raise SqlRefused(f"a function is named in a way the tool does not accept ({text})")
            name = function["name"].lower()
            if name in _OUTSIDE_FUNCTIONS or name.startswith("dict"):
                raise SqlRefused(
                    f"the function {function['name']}() reads outside the allowed tables and is not allowed"
                )
            if name in _IN_FUNCTIONS:
                unknown |= _table_names(_arguments(node)[1:2], allowed)
        if text in _TABLE_SECTIONS:
            unknown |= _table_names(node.children, allowed)
    return unknown


def _arguments(function: _Node) -> list[_Node]:
    for section in function.children:
        if section.text == "ARGUMENTS" and section.children:
            return section.children[0].children
    return []


def _table_names(nodes: list[_Node], allowed: set[str]) -> set[str]:
    """Refuse the table names in ``nodes`` that are not allowed; return those that may be ``WITH`` names."""
    unknown: set[str] = set()
    for node in nodes:
        if not node.text.startswith("IDENTIFIER "):
            continue
        match = _UNRESOLVED_TABLE.fullmatch(node.text)
        if match is None:
            raise SqlRefused(
                f"a table is named in a way the tool does not accept ({node.text.split(', ', 1)[-1]});"
                " name tables with letters, digits and _"
            )
        name = match["name"]
        if name in allowed:
            continue
        if "." in name:
            raise SqlRefused(f"the query reads {name}, {_NOT_ALLOWED}")
        unknown.add(name)
    return unknown


def _describe(exc: DriverError, code: int | None) -> str:
    """Say in words what ClickHouse refused, with its code and error name, and its message."""
    text = str(exc).strip()
    message = text.rsplit("DB::Exception:", 1)[-1].strip()
    message = _PARSE_SCOPE.sub(".", _OWN_SETTINGS.sub("", _VERSION.sub("", message)))
    found = _CODE_NAME.search(message)
    name = getattr(exc, "name", None) or (found[1] if found else None)
    message = _CODE_NAME.sub("", message).strip() or text
    label = f"code {code} {name}" if name else f"code {code}"
    if code == 164:
        return f"ClickHouse refused it in read-only mode ({label}): {message}"
    if code == 497:
        return f"ClickHouse refused access ({label}): {message}"
    if code == 62:
        return f"ClickHouse could not parse the SQL ({label}): {message}"
    if code in BUDGET_CODES:
        return f"the query ran over its budget of {BUDGET_CODES[code]} ({label}): {message}"
    return f"ClickHouse rejected the query ({label}): {message}"


def _jsonable(value: Any) -> Any:
    """``value`` as JSON-ready data (see :class:`SqlResult`).

    >>> _jsonable([dt.datetime(2024, 3, 4, 14, 30, tzinfo=dt.UTC), float("nan"), decimal.Decimal("1.50")])
    ['2024-03-04T14:30:00+00:00', None, '1.50']
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, enum.Enum):
        return _jsonable(value.value)
    if isinstance(value, Mapping):
        return {str(_jsonable(key)): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(item) for item in value]
    if isinstance(value, decimal.Decimal | uuid.UUID | ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    if hasattr(value, "tolist"):  # a NumPy array or scalar
        return _jsonable(value.tolist())
    return str(value)
