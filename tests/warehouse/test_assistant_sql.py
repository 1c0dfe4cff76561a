"""The assistant's read-only SQL tool, on the real embedded store (chDB) with real bars.

It answers one SELECT over the allowed tables, within its budgets; ClickHouse refuses writes and
settings changes made under the tool's settings (code 164), ClickHouse's parser refuses a second
statement (code 62), and ClickHouse's own analysis of a query decides which tables it reads.
After every refusal the stored bars are unchanged and the application's connection still writes.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator

import clickhouse_connect
import msgspec
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError

from api.runtime import Runtime
from api.settings import Settings
from pipelines.ingest.sources.synthetic import generate_bars
from schemas.bars import SeriesKey
from warehouse.clickhouse import assistant_sql
from warehouse.clickhouse.assistant_sql import (
    ALLOWED_TABLES,
    SqlRefused,
    SqlResult,
    assistant_user_ddl,
    readonly_settings,
    run_readonly,
)
from warehouse.clickhouse.client import ClickHouse
from warehouse.errors import QueryBudgetExceeded, WarehouseClientError

SYMBOLS = ("SQLA", "SQLB")
FINGERPRINT = (
    "SELECT count(), groupBitXor(cityHash64(symbol, ts, open, high, low, close, volume)), max(ingested_at)"
    " FROM bars"
)
"""What the stored bars are: a refused statement must leave this as it was."""


@pytest.fixture
async def stored(clean: Runtime) -> dict[str, pa.Table]:
    """Daily bars of two symbols in January 2024, stored through the bar store."""
    found = {}
    for symbol in SYMBOLS:
        ref = SeriesKey.of(symbol=symbol, series="1d", adjusted=True)
        bars = generate_bars(ref, dt.date(2024, 1, 2), dt.date(2024, 1, 31))
        await clean.services.bars.insert(ref, "synthetic", bars)
        found[symbol] = bars
    return found


@pytest.fixture
def clickhouse(clean: Runtime) -> ClickHouse:
    return clean.stack.clickhouse


async def _fingerprint(clickhouse: ClickHouse) -> list[object]:
    return await clickhouse.run(lambda client: list(client.query(FINGERPRINT).result_rows[0]))


async def _refused(clickhouse: ClickHouse, sql: str, **budgets: float) -> SqlRefused:
    with pytest.raises(SqlRefused) as raised:
        await run_readonly(clickhouse, sql, **budgets)
    return raised.value


async def test_a_select_over_bars_answers_the_stored_values(clickhouse, stored):
    bars = stored["SQLA"]
    result = await run_readonly(
        clickhouse,
        "SELECT symbol, ts, close, volume FROM bars FINAL WHERE symbol = 'SQLA' ORDER BY ts LIMIT 3",
    )
    assert result.columns == ["symbol", "ts", "close", "volume"]
    assert result.types == ["LowCardinality(String)", "DateTime64(3, 'UTC')", "Float64", "Float64"]
    assert result.rows == [
        ["SQLA", bars["ts"][i].as_py().isoformat(), bars["close"][i].as_py(), bars["volume"][i].as_py()]
        for i in range(3)
    ]
    assert result.rows[0][1].endswith("+00:00")
    assert not result.truncated
    assert result.elapsed_ms > 0
    # JSON-ready as it is
    assert msgspec.json.decode(msgspec.json.encode(result), type=SqlResult) == result


async def test_an_aggregate_over_every_symbol(clickhouse, stored):
    result = await run_readonly(
        clickhouse,
        "SELECT symbol, count() AS n, min(low) AS low, max(high) AS high, round(avg(close), 6) AS mean"
        " FROM bars FINAL GROUP BY symbol ORDER BY symbol",
    )
    assert result.columns == ["symbol", "n", "low", "high", "mean"]
    assert result.rows == [
        [
            symbol,
            bars.num_rows,
            pc.min(bars["low"]).as_py(),
            pc.max(bars["high"]).as_py(),
            round(pc.mean(bars["close"]).as_py(), 6),
        ]
        for symbol, bars in stored.items()
    ]


async def test_common_analytic_sql_runs(clickhouse, stored):
    queries = [
        "WITH daily AS (SELECT symbol, ts, close FROM bars FINAL) SELECT symbol, argMax(close, ts) FROM daily"
        " GROUP BY symbol",
        "SELECT symbol, close - lagInFrame(close) OVER (PARTITION BY symbol ORDER BY ts) AS change FROM bars",
        "SELECT toStartOfWeek(ts) AS week, arrayMap(x -> round(x, 2), groupArray(close)) FROM bars"
        " GROUP BY week ORDER BY week",
        "SELECT b.ts, b.close / a.close AS ratio FROM bars AS a INNER JOIN bars AS b USING (ts)"
        " WHERE a.symbol = 'SQLA' AND b.symbol = 'SQLB'",
        "SELECT count() FROM bars WHERE (symbol, ts) IN (SELECT symbol, max(ts) FROM bars GROUP BY symbol)",
        "SELECT avg(close) AS `average close`, 1 + 1 AS two FROM default.bars"
        " WHERE ts >= now() - INTERVAL 30 YEAR",
        "SELECT symbol, t, v FROM indicator_values ARRAY JOIN ts AS t, values AS v",
        "SELECT 1;",
    ]
    for sql in queries:
        assert (await run_readonly(clickhouse, sql)).columns, sql


async def test_the_row_budget_cuts_the_answer(clickhouse, stored):
    rows = stored["SQLA"].num_rows
    sql = "SELECT ts FROM bars WHERE symbol = 'SQLA' ORDER BY ts"
    cut = await run_readonly(clickhouse, sql, max_rows=5)
    assert len(cut.rows) == 5
    assert cut.truncated
    whole = await run_readonly(clickhouse, sql, max_rows=rows)
    assert len(whole.rows) == rows
    assert not whole.truncated
    assert whole.rows[:5] == cut.rows


async def test_an_empty_answer_still_names_its_columns(clickhouse, stored):
    result = await run_readonly(clickhouse, "SELECT projection_id, median FROM projection_values")
    assert (result.columns, result.types, result.rows) == (
        ["projection_id", "median"],
        ["String", "Array(Float64)"],
        [],
    )


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("INSERT INTO bars (symbol, ts) VALUES ('EVIL', now())", "InsertQuery"),
        ("ALTER TABLE bars DELETE WHERE 1", "AlterQuery"),
        ("ALTER TABLE bars UPDATE close = 0 WHERE 1", "AlterQuery"),
        ("DELETE FROM bars WHERE 1", "DeleteQuery"),
        ("DROP TABLE bars", "DropQuery"),
        ("TRUNCATE TABLE bars", "TruncateQuery"),
        ("CREATE TABLE evil (x UInt8) ENGINE = Memory", "CreateQuery"),
        ("RENAME TABLE bars TO old_bars", "Rename"),
        ("EXCHANGE TABLES bars AND bar_rollups", "Rename"),
        ("DETACH TABLE bars", "DetachQuery"),
        ("OPTIMIZE TABLE bars FINAL", "OptimizeQuery"),
        ("SET readonly = 0", "Set"),
        ("KILL QUERY WHERE 1", "KillQueryQuery"),
        ("SYSTEM DROP MARK CACHE", "SYSTEM"),
        ("GRANT SELECT ON bars TO nobody", "GrantQuery"),
    ],
)
async def test_writes_are_refused_and_the_bars_are_unchanged(clickhouse, stored, sql, kind):
    before = await _fingerprint(clickhouse)
    refused = await _refused(clickhouse, sql)
    assert f"ClickHouse parses this as {kind}, a write" in str(refused)
    assert await _fingerprint(clickhouse) == before


@pytest.fixture
def readonly_client(settings: Settings, clean: Runtime) -> Iterator[Client]:
    """A second connection to the session's engine, every statement under the tool's settings."""
    path = (settings.stores.data_dir / "clickhouse").resolve()
    client = clickhouse_connect.get_client(
        dsn=f"chdb://{path}", settings=readonly_settings(max_rows=None, max_seconds=5.0)
    )
    try:
        yield client
    finally:
        client.close()


WRITE_REFUSED = "Cannot execute query in readonly mode"
CHANGE_REFUSED = "setting in readonly mode"


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        ("INSERT INTO bars (symbol, ts) VALUES ('EVIL', now())", WRITE_REFUSED),
        ("ALTER TABLE bars DELETE WHERE 1", WRITE_REFUSED),
        ("DROP TABLE bars", WRITE_REFUSED),
        ("TRUNCATE TABLE bars", WRITE_REFUSED),
        ("CREATE TABLE evil (x UInt8) ENGINE = Memory", WRITE_REFUSED),
        ("SET readonly = 0", CHANGE_REFUSED),
        ("SET max_execution_time = 1000", CHANGE_REFUSED),
        ("SELECT * FROM file('/etc/passwd', 'LineAsString')", WRITE_REFUSED),
        ("SELECT * FROM url('http://127.0.0.1:9/x.csv', 'CSV', 'a String')", WRITE_REFUSED),
    ],
)
async def test_clickhouse_itself_refuses_writes_under_the_tools_settings(
    clickhouse, stored, readonly_client, sql, words
):
    """Even a statement the tool let through would be refused: by ClickHouse, with code 164."""
    before = await _fingerprint(clickhouse)
    with pytest.raises(DatabaseError) as raised:
        await clickhouse.run(lambda _: readonly_client.command(sql))
    assert raised.value.code == 164
    assert words in str(raised.value)
    assert await _fingerprint(clickhouse) == before


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        ("SELECT * FROM bars SETTINGS readonly = 0", "Cannot modify 'readonly' setting in readonly mode"),
        ("SELECT count() FROM bars SETTINGS max_execution_time = 1000", "Cannot modify 'max_execution_time'"),
        ("SELECT count() FROM bars SETTINGS max_result_rows = 0", "Cannot modify 'max_result_rows'"),
    ],
)
async def test_clickhouse_refuses_a_settings_clause(clickhouse, stored, sql, words):
    refused = await _refused(clickhouse, sql)
    assert refused.code == 164
    assert "ClickHouse refused it in read-only mode (code 164 READONLY)" in str(refused)
    assert words in str(refused)


async def test_the_budgets_are_in_force_inside_the_query(clickhouse, stored):
    result = await run_readonly(
        clickhouse,
        "SELECT getSetting('readonly'), getSetting('max_execution_time'), getSetting('max_result_rows')",
        max_rows=7,
        max_seconds=3.0,
    )
    assert result.rows == [[1, 3.0, 8]]
    # a subquery's SETTINGS changes nothing
    inner = await run_readonly(
        clickhouse, "SELECT * FROM (SELECT getSetting('readonly') AS r SETTINGS readonly = 0)"
    )
    assert inner.rows == [[1]]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1; SELECT 2",
        "SELECT count() FROM bars; INSERT INTO bars (symbol, ts) VALUES ('EVIL', now())",
        "SELECT 1; DROP TABLE bars",
    ],
)
async def test_clickhouses_parser_refuses_a_second_statement(clickhouse, stored, sql):
    before = await _fingerprint(clickhouse)
    refused = await _refused(clickhouse, sql)
    assert refused.code == 62
    assert "Multi-statements are not allowed" in str(refused)
    assert "formatQuerySingleLine" not in str(refused)
    assert await _fingerprint(clickhouse) == before


@pytest.mark.parametrize(
    ("sql", "table"),
    [
        ("SELECT * FROM rollup_dirty", "default.rollup_dirty"),
        ("SELECT * FROM bar_rollups", "default.bar_rollups"),
        ("SELECT * FROM default.rollup_dirty", "default.rollup_dirty"),
        ("SELECT name FROM system.users", "system.users"),
        ("SELECT name FROM system.tables", "system.tables"),
        ("SELECT query FROM system.processes", "system.processes"),
        ("SELECT sum(number) FROM system.numbers", "system.numbers"),
        ("SELECT count() FROM bars WHERE symbol IN rollup_dirty", "default.rollup_dirty"),
        (
            "SELECT count() FROM bars WHERE symbol IN (SELECT symbol FROM rollup_dirty)",
            "default.rollup_dirty",
        ),
        ("SELECT (SELECT toInt32(symbol) FROM rollup_dirty LIMIT 1)", "default.rollup_dirty"),
        ("WITH bars AS (SELECT * FROM rollup_dirty) SELECT * FROM bars", "default.rollup_dirty"),
        ("SELECT * FROM bars AS b JOIN bar_rollups AS r USING (symbol)", "default.bar_rollups"),
    ],
)
async def test_other_tables_are_refused(clickhouse, stored, sql, table):
    refused = await _refused(clickhouse, sql)
    assert f"the query reads {table}, which is not one of the tables the assistant may read" in str(refused)
    for allowed in ALLOWED_TABLES:
        assert allowed in str(refused)


async def test_files_are_not_tables(clickhouse, stored):
    for sql in ("SELECT * FROM `/etc/passwd`", "SELECT (SELECT toInt32(c1) FROM `/etc/passwd` LIMIT 1)"):
        refused = await _refused(clickhouse, sql)
        assert "a table is named in a way the tool does not accept (identifier: /etc/passwd)" in str(refused)
        assert "root" not in str(refused)


@pytest.mark.parametrize(
    ("sql", "function"),
    [
        ("SELECT * FROM file('/etc/passwd', 'LineAsString')", "file"),
        ("SELECT * FROM url('http://127.0.0.1:9/x.csv', 'CSV', 'a String')", "url"),
        ("SELECT * FROM s3('http://127.0.0.1:9/b/x.csv')", "s3"),
        ("SELECT * FROM remote('127.0.0.1', default.rollup_dirty)", "remote"),
        ("SELECT sum(number) FROM numbers(1e12)", "numbers"),
        ("SELECT * FROM merge('default', '.*')", "merge"),
        ("SELECT * FROM view(SELECT * FROM rollup_dirty)", "view"),
        (
            "SELECT count() FROM bars WHERE close IN (SELECT * FROM generateRandom('x Float64') LIMIT 1)",
            "generateRandom",
        ),
    ],
)
async def test_table_functions_are_refused(clickhouse, stored, sql, function):
    refused = await _refused(clickhouse, sql)
    assert f"the query calls the table function {function}()" in str(refused)


@pytest.mark.parametrize(
    ("sql", "function"),
    [
        ("SELECT file('/etc/hostname')", "file"),
        ("SELECT count() FROM bars WHERE symbol = file('/etc/hostname')", "file"),
        ("SELECT dictGet('dict', 'x', 1)", "dictGet"),
        ("SELECT joinGet('rollup_dirty', 'symbol', 1)", "joinGet"),
        ("SELECT hasColumnInTable('system', 'users', 'name')", "hasColumnInTable"),
    ],
)
async def test_functions_that_read_elsewhere_are_refused(clickhouse, stored, sql, function):
    refused = await _refused(clickhouse, sql)
    assert f"the function {function}() reads outside the allowed tables" in str(refused)


async def test_introspection_is_off(clickhouse, stored):
    refused = await _refused(clickhouse, "SELECT addressToSymbol(1)")
    assert refused.code == 446  # FUNCTION_NOT_ALLOWED, from ClickHouse


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT file('/etc/hostname') AS `a, function_name: abs, function_type: ordinary`",
        "SELECT (SELECT toInt32(symbol) FROM rollup_dirty AS `b, identifier: bars`)",
        "SELECT 1 AS `a\\nb`",
        "SELECT * FROM bars AS `b\\n    CONSTANT id: 1`",
        "SELECT count() FROM `bars, final: 1`",
    ],
)
async def test_names_cannot_disguise_what_a_query_reads(clickhouse, stored, sql):
    refused = await _refused(clickhouse, sql)
    assert "holds a line break, a backslash or ': '" in str(refused)


async def test_a_string_with_escapes_is_fine(clickhouse, stored):
    result = await run_readonly(clickhouse, "SELECT 'a\\nb' AS s, '`\\\\' AS t")
    assert result.rows == [["a\nb", "`\\"]]


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        ("SELECT * FROM bars INTO OUTFILE '{path}'", "INTO OUTFILE"),
        ("SELECT * FROM bars FORMAT JSON", "FORMAT"),
        ("SHOW TABLES", "ShowTables"),
        ("DESCRIBE TABLE rollup_dirty", "DescribeQuery"),
        ("EXPLAIN SELECT * FROM rollup_dirty", "Explain"),
        ("EXISTS TABLE rollup_dirty", "ExistsTableQuery"),
    ],
)
async def test_only_a_plain_select_runs(clickhouse, stored, tmp_path, sql, words):
    path = tmp_path / "out.tsv"
    refused = await _refused(clickhouse, sql.format(path=path))
    assert words in str(refused)
    assert not path.exists()


async def test_a_query_past_its_time_is_stopped(clickhouse, stored):
    with pytest.raises(QueryBudgetExceeded):
        await run_readonly(clickhouse, "SELECT sleepEachRow(0.02) FROM bars", max_seconds=0.1)


async def test_a_query_past_its_read_budget_is_refused(clickhouse, stored, monkeypatch):
    monkeypatch.setattr(assistant_sql, "MAX_ROWS_TO_READ", 5)
    refused = await _refused(clickhouse, "SELECT count() FROM bars WHERE close > 0")
    assert refused.code == 158
    assert "the query ran over its budget of rows read (code 158 TOO_MANY_ROWS)" in str(refused)


async def test_clickhouses_errors_come_back_in_words(clickhouse, stored):
    refused = await _refused(clickhouse, "SELECT nosuchcolumn FROM bars")
    assert refused.code == 47
    assert str(refused).startswith("ClickHouse rejected the query (code 47 UNKNOWN_IDENTIFIER): ")
    assert "nosuchcolumn" in str(refused)
    assert "SETTINGS" not in str(refused)
    syntax = await _refused(clickhouse, "SELEC 1")
    assert syntax.code == 62
    assert isinstance(syntax, WarehouseClientError)


async def test_the_size_limit_and_the_budget_ranges(clickhouse, stored):
    refused = await _refused(clickhouse, "SELECT 1 " + " " * 10_000)
    assert "at most 10,000 are accepted" in str(refused)
    with pytest.raises(ValueError, match="max_rows"):
        await run_readonly(clickhouse, "SELECT 1", max_rows=0)
    with pytest.raises(ValueError, match="max_seconds"):
        await run_readonly(clickhouse, "SELECT 1", max_seconds=0)


async def test_values_come_back_json_ready(clickhouse, stored):
    result = await run_readonly(
        clickhouse,
        "SELECT toDate('2024-01-02') AS day, toDateTime('2024-01-02 09:30:00', 'America/New_York') AS ny,"
        " nan AS n, inf AS i, toDecimal64(1.25, 2) AS d, map('k', [1, 2]) AS m, (1, 'a') AS t,"
        " toUUID('00000000-0000-0000-0000-000000000001') AS u, CAST(NULL AS Nullable(Int8)) AS nothing",
    )
    # The instant, with its offset (chDB hands DateTime('tz') over in UTC, DateTime64('tz') in its zone)
    ny = dt.datetime(2024, 1, 2, 14, 30, tzinfo=dt.UTC)
    assert dt.datetime.fromisoformat(result.rows[0][1]) == ny
    assert result.rows == [
        [
            "2024-01-02",
            result.rows[0][1],
            None,
            None,
            "1.25",
            {"k": [1, 2]},
            [1, "a"],
            "00000000-0000-0000-0000-000000000001",
            None,
        ]
    ]


async def test_the_applications_connection_still_writes_after_refusals(clean, stored):
    clickhouse = clean.stack.clickhouse
    for sql in (
        "INSERT INTO bars (symbol) VALUES ('EVIL')",
        "SELECT 1 SETTINGS readonly = 0",
        "SET readonly = 1",
    ):
        await _refused(clickhouse, sql)
    assert await clickhouse.run(lambda client: client.command("SELECT getSetting('readonly')")) == 0
    ref = SeriesKey.of(symbol="SQLC", series="1d", adjusted=True)
    bars = generate_bars(ref, dt.date(2024, 2, 1), dt.date(2024, 2, 9))
    await clean.services.bars.insert(ref, "synthetic", bars)
    count = await clickhouse.run(
        functools.partial(_command, sql="SELECT count() FROM bars FINAL WHERE symbol = 'SQLC'")
    )
    assert count == bars.num_rows


def _command(client: Client, *, sql: str) -> object:
    return client.command(sql)


def test_the_server_users_statements():
    statements = assistant_user_ddl("k2q", "0" * 64)
    assert statements == (
        "CREATE USER IF NOT EXISTS k2q_assistant IDENTIFIED WITH sha256_hash BY '" + "0" * 64 + "'"
        " DEFAULT DATABASE k2q",
        "GRANT SELECT ON k2q.bars TO k2q_assistant",
        "GRANT SELECT ON k2q.indicator_values TO k2q_assistant",
        "GRANT SELECT ON k2q.projection_values TO k2q_assistant",
    )
    on_cluster = assistant_user_ddl("k2q", "0" * 64, cluster="prod")
    assert on_cluster[0].startswith("CREATE USER IF NOT EXISTS k2q_assistant ON CLUSTER prod ")
    assert "GRANT ON CLUSTER prod SELECT ON k2q.bars_local TO k2q_assistant" in on_cluster
    with pytest.raises(ValueError, match="identifier"):
        assistant_user_ddl("k2q; DROP TABLE bars", "0" * 64)
    with pytest.raises(ValueError, match="64 hex"):
        assistant_user_ddl("k2q", "secret")
