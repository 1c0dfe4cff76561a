"""The assistant's read-only SQL over the bar store, refused and bounded by ClickHouse itself.

Two of ClickHouse's own mechanisms, no matching of the query's text:

- **Writes**: ClickHouse's parser names the statement's kind; anything but one SELECT is refused
  (an INSERT is ``InsertQuery``, and so on), and the SELECT runs with ``readonly = 2``, so
  ClickHouse refuses any write it could still make and any change of ``readonly``. An inline
  ``SETTINGS`` clause (which could lift the budgets) is refused from the parsed statement.
- **Tables**: ClickHouse's parser (``EXPLAIN AST``) names every table and table function the
  statement reads; only :data:`ALLOWED_TABLES` may be read, no table function at all, and the
  statement must be one SELECT with no ``INTO OUTFILE`` (which ClickHouse writes even when
  read-only). On a ClickHouse server the same check runs; an operator who wants grants too can
  point ``CLICKHOUSE_URL`` at a user with ``GRANT SELECT`` on these tables only (the embedded
  engine has no users to grant to).

Budgets are settings as well: ``max_execution_time``, ``max_result_rows`` (with
``result_overflow_mode = 'break'``, so a long answer is cut, not refused) and ``max_rows_to_read``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
import time
import uuid
from typing import Any, Final

import msgspec
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import Error as DriverError

from warehouse.clickhouse.client import ClickHouse
from warehouse.clickhouse.ddl import BARS_TABLE, INDICATOR_VALUES_TABLE, PROJECTION_VALUES_TABLE
from warehouse.errors import WarehouseClientError

ALLOWED_TABLES: Final = frozenset({BARS_TABLE, INDICATOR_VALUES_TABLE, PROJECTION_VALUES_TABLE})
MAX_SQL_CHARS: Final = 10_000
MAX_ROWS_READ: Final = 200_000_000

_WRITES: Final = frozenset(
    {
        "InsertQuery", "AlterQuery", "CreateQuery", "DropQuery", "RenameQuery", "TruncateQuery",
        "OptimizeQuery", "SetQuery", "SystemQuery", "KillQueryQuery", "DeleteQuery", "UpdateQuery",
        "CreateUserQuery", "GrantQuery", "UndropQuery",
    }
)  # fmt: skip
"""Statement kinds (as ClickHouse's parser names them) that write or change settings."""
_TABLE: Final = re.compile(r"^(\s*)TableIdentifier (\S+)")
_TABLE_EXPRESSION: Final = re.compile(r"^(\s*)TableExpression\b")
_FUNCTION: Final = re.compile(r"^(\s*)Function (\S+)")
_CODE: Final = re.compile(
    r"\bCode:\s*(\d+)\.\s*DB::Exception:\s*(?:[^:]+:\s*)?(.*?)(?:\s*\(version [^)]*\))?\s*$", re.S
)


class SqlRefused(WarehouseClientError):
    """ClickHouse refused the statement, or it reads what the assistant may not; the message says which."""


class SqlResult(msgspec.Struct, kw_only=True):
    """What a read-only statement answered: columns, types and rows (times as ISO-8601 text)."""

    columns: list[str]
    types: list[str]
    rows: list[list[Any]]
    truncated: bool
    """More rows matched than asked for: only the first are here."""
    elapsed_ms: float


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, uuid.UUID | bytes):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _refusal(exc: DriverError) -> str:
    match = _CODE.search(str(exc))
    return f"ClickHouse refused it: {match.group(2).strip()}" if match else f"ClickHouse refused it: {exc}"


def _check_reads(client: Client, sql: str, database: str) -> None:
    try:
        plan = client.command("EXPLAIN AST " + sql)
    except DriverError as exc:
        raise SqlRefused(_refusal(exc)) from None
    lines = (plan if isinstance(plan, str) else "\n".join(str(line) for line in plan)).splitlines()  # type: ignore[union-attr]
    root = lines[0].split(" ", 1)[0] if lines else ""
    if root in _WRITES:
        raise SqlRefused(f"ClickHouse parses this as {root}, a write: the SQL tool is read-only (SELECT)")
    if root != "SelectWithUnionQuery" or not lines[0].startswith("SelectWithUnionQuery (children 1)"):
        raise SqlRefused("only one SELECT statement may run, without INTO OUTFILE or FORMAT")
    expression_depth: int | None = None
    for line in lines:
        if line.strip() == "Set":
            raise SqlRefused("a SETTINGS clause may not be used: the time and row budgets are fixed")
        if found := _TABLE_EXPRESSION.match(line):
            expression_depth = len(found.group(1))
            continue
        if (found := _FUNCTION.match(line)) and expression_depth is not None:
            if len(found.group(1)) == expression_depth + 1:
                raise SqlRefused(f"the table function {found.group(2)}() may not be used; read {_allowed()}")
        if found := _TABLE.match(line):
            name = found.group(2)
            table = name.split(".", 1)[1] if "." in name else name
            own = "." not in name or name.split(".", 1)[0] == database
            if not own or table not in ALLOWED_TABLES:
                raise SqlRefused(f"the table {name} may not be read; read {_allowed()}")


def _allowed() -> str:
    return ", ".join(sorted(ALLOWED_TABLES))


async def run_readonly(
    clickhouse: ClickHouse, sql: str, *, max_rows: int = 1_000, max_seconds: float = 10.0
) -> SqlResult:
    """Run one read-only SELECT over the bar store.

    Raises:
        SqlRefused: ClickHouse refused it (a write, a setting, bad SQL), or it reads a table or
            table function the assistant may not.
        QueryBudgetExceeded: it ran past ``max_seconds``.
    """
    text = sql.strip().rstrip(";").strip()
    if not text:
        raise SqlRefused("the statement is empty")
    if len(text) > MAX_SQL_CHARS:
        raise SqlRefused(f"the statement is longer than {MAX_SQL_CHARS:,} characters")
    # The settings go in the statement's own SETTINGS clause: chDB keeps settings passed beside a
    # query for the whole session (that would make the embedded store read-only). readonly = 2
    # refuses writes and any change of `readonly`; the statement had no SETTINGS clause of its own
    # (refused from its AST above), so nothing lifts the budgets.
    clause = (
        f"\nSETTINGS max_execution_time = {float(max_seconds)}, max_result_rows = {int(max_rows)},"
        f" result_overflow_mode = 'break', max_rows_to_read = {MAX_ROWS_READ}, readonly = 2"
    )

    def run(client: Client) -> SqlResult:
        database = str(client.command("SELECT currentDatabase()"))
        _check_reads(client, text, database)
        started = time.perf_counter()
        try:
            result = client.query(text + clause)
        except DriverError as exc:
            if "TIMEOUT_EXCEEDED" in str(exc) or "Code: 159" in str(exc):
                raise
            raise SqlRefused(_refusal(exc)) from None
        rows = [[_plain(v) for v in row] for row in result.result_rows]
        return SqlResult(
            columns=list(result.column_names),
            types=[t.name for t in result.column_types],
            rows=rows[:max_rows],
            truncated=len(rows) >= max_rows,
            elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
        )

    return await clickhouse.run(run)
