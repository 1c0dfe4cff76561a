"""Imports of CSV and Parquet files: column aliases, timestamp forms and zones, every check, the store."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from api.runtime import Runtime
from pipelines.ingest.bar_files import BarFile, Rejected, read_bar_file
from pipelines.ingest.fetch import SourceConflict
from pipelines.ingest.file_imports import Importer, ImportRejected, ImportTooLarge, describe
from pipelines.ingest.sources.synthetic import generate_bars
from schemas.bars import BAR_ARROW_SCHEMA, SeriesKey
from schemas.datasets import FetchRequest
from schemas.imports import MAX_IMPORT_BYTES, ImportOptions

NY = ZoneInfo("America/New_York")
MINUTES = generate_bars(
    SeriesKey(symbol="IMP", multiplier=1, timespan="minute"), dt.date(2024, 3, 8), dt.date(2024, 3, 12)
)
"""Minute bars across the March 2024 clock change (ground truth for round trips)."""
DAYS = generate_bars(
    SeriesKey(symbol="IMP", multiplier=1, timespan="day"), dt.date(2023, 10, 2), dt.date(2024, 3, 29)
)


def options(timespan: str = "minute", **extra: object) -> ImportOptions:
    return msgspec.convert({"symbol": "imp", "timespan": timespan, **extra}, ImportOptions)


def frame(table: pa.Table) -> pl.DataFrame:
    result = pl.from_arrow(table)
    assert isinstance(result, pl.DataFrame)
    return result


def read(path: Path, opts: ImportOptions) -> BarFile:
    result = read_bar_file(path, opts)
    assert isinstance(result, BarFile), result
    return result


def rejected(path: Path, opts: ImportOptions) -> Rejected:
    result = read_bar_file(path, opts)
    assert isinstance(result, Rejected), result
    return result


def problems_of(result: Rejected) -> list[tuple[int | None, str | None, str]]:
    """(CSV line, column, message) of each problem."""
    return [(None if p.row is None else p.row + 2, p.column, p.message) for p in result.problems]


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# ---------------------------------------------------------------------------------------------
# Reading: formats, aliases, timestamp forms


def test_csv_with_short_aliases_and_epoch_ms_round_trips(tmp_path):
    polygon_style = frame(MINUTES).select(
        pl.col("ts").dt.epoch("ms").alias("t"),
        pl.col("open").alias("o"),
        pl.col("high").alias("h"),
        pl.col("low").alias("l"),
        pl.col("close").alias("c"),
        pl.col("volume").alias("v"),
        pl.col("vwap").alias("vw"),
        pl.col("transactions").alias("n"),
    )
    path = tmp_path / "bars.csv"
    polygon_style.write_csv(path)
    result = read(path, options())
    assert result.format == "csv"
    assert result.bars.schema == BAR_ARROW_SCHEMA
    assert result.bars.equals(MINUTES)
    assert result.columns == {
        "ts": "t", "open": "o", "high": "h", "low": "l", "close": "c", "volume": "v", "vwap": "vw",
        "transactions": "n",
    }  # fmt: skip
    assert result.timestamps == "epoch milliseconds (told from their magnitude)"
    assert result.rows == MINUTES.num_rows
    assert result.warnings == []


def test_parquet_with_upper_case_names_and_extra_columns(tmp_path):
    table = (
        frame(MINUTES)
        .rename({name: name.upper() for name in BAR_ARROW_SCHEMA.names})
        .with_columns(pl.lit("x").alias("Note"))
        .to_arrow()
    )
    path = tmp_path / "bars.parquet"
    pq.write_table(table, path)
    result = read(path, options())
    assert result.format == "parquet"
    assert result.bars.equals(MINUTES)
    assert result.ignored_columns == ["Note"]
    assert result.timestamps == "Parquet date-times with a zone"


def test_parquet_naive_timestamps_are_read_in_the_given_zone(tmp_path):
    naive = frame(MINUTES).with_columns(
        pl.col("ts").dt.convert_time_zone("Asia/Tokyo").dt.replace_time_zone(None)
    )
    path = tmp_path / "tokyo.parquet"
    naive.write_parquet(path)
    assert read(path, options(tz="Asia/Tokyo")).bars.equals(MINUTES)
    shifted = read(path, options(tz="UTC")).bars.column("ts").to_pylist()
    assert shifted[0] - MINUTES.column("ts")[0].as_py() == dt.timedelta(hours=9)


def _ts_file(tmp_path: Path, stamps: list[str], header: str = "time") -> Path:
    lines = [f"{header},open,high,low,close,volume"] + [f"{s},1,2,0.5,1.5,100" for s in stamps]
    return write_csv(tmp_path / "ts.csv", "\n".join(lines) + "\n")


# 2024-03-08 09:30 and 2024-03-11 09:30 New York: before and after the clock change.
EXPECTED = [dt.datetime(2024, 3, 8, 14, 30, tzinfo=dt.UTC), dt.datetime(2024, 3, 11, 13, 30, tzinfo=dt.UTC)]


@pytest.mark.parametrize(
    ("stamps", "extra", "words"),
    [
        (
            ["2024-03-08 09:30:00", "2024-03-11 09:30:00"],
            {},
            "ISO-8601 date-times; those without an offset in America/New_York",
        ),
        (["2024-03-08T09:30", "2024-03-11T09:30"], {}, None),
        (["2024-03-08T14:30:00Z", "2024-03-11T13:30:00.000Z"], {"tz": "Asia/Tokyo"}, None),
        (["2024-03-08T09:30:00-05:00", "2024-03-11T09:30:00-0400"], {}, None),
        (["2024-03-08 14:30:00", "2024-03-11 13:30:00"], {"tz": "UTC"}, None),
        (["1709908200", "1710163800"], {}, "epoch seconds (told from their magnitude)"),
        (["1709908200000", "1710163800000"], {}, "epoch milliseconds (told from their magnitude)"),
        (["1709908200000000", "1710163800000000"], {}, "epoch microseconds (told from their magnitude)"),
        (["1709908200000000000", "1710163800000000000"], {}, "epoch nanoseconds (told from their magnitude)"),
        (["1709908200.0", "1710163800.0"], {}, "epoch seconds (told from their magnitude)"),
        (["1709908200000", "1710163800000"], {"epoch_unit": "ms"}, "epoch milliseconds"),
    ],
)
def test_every_timestamp_form_of_an_intraday_bar(tmp_path, stamps, extra, words):
    result = read(_ts_file(tmp_path, stamps), options(**extra))
    assert result.bars.column("ts").to_pylist() == EXPECTED
    if words:
        assert result.timestamps == words


def test_a_date_and_a_time_column_make_one_timestamp(tmp_path):
    path = write_csv(
        tmp_path / "split.csv",
        "<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>\n2024-03-08,09:30:00,1,2,0.5,1.5,10\n"
        "2024-03-11,09:30:00,1,2,0.5,1.5,10\n",
    )
    result = read(path, options())
    assert result.bars.column("ts").to_pylist() == EXPECTED
    assert result.columns["ts"] == "<DATE> + <TIME>"


@pytest.mark.parametrize(
    "stamps",
    [
        ["2023-10-02", "2023-10-03"],
        ["20231002", "20231003"],
        ["2023-10-02T00:00:00-04:00", "2023-10-03T00:00:00-04:00"],
        ["2023-10-02 00:00:00", "2023-10-03 00:00:00"],
        ["2023-10-02T00:00:00Z", "2023-10-03T00:00:00Z"],
        ["1696219200000", "1696305600000"],  # New York midnights (as Polygon sends day bars)
        ["1696204800", "1696291200"],  # UTC midnights
    ],
)
def test_day_bars_are_stored_at_new_york_midnight_like_every_source(tmp_path, stamps):
    result = read(_ts_file(tmp_path, stamps, header="Date"), options("day"))
    assert result.bars.column("ts").to_pylist() == DAYS.column("ts").to_pylist()[:2]


def test_daily_file_of_synthetic_bars_round_trips_exactly(tmp_path):
    dated = frame(DAYS).with_columns(
        pl.col("ts").dt.convert_time_zone("America/New_York").dt.date().alias("ts")
    )
    path = tmp_path / "days.csv"
    dated.write_csv(path)
    result = read(path, options("day"))
    assert result.bars.equals(DAYS)
    assert result.timestamps == "ISO-8601 dates and date-times, each naming its day as written"
    parquet = tmp_path / "days.parquet"
    dated.write_parquet(parquet)
    assert read(parquet, options("day")).bars.equals(DAYS)


def test_semicolons_blank_lines_crlf_and_a_byte_order_mark(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_bytes(
        b"\xef\xbb\xbfDate;Open;High;Low;Close\r\n2024-03-08T09:30;1;2;0.5;1.5\r\n\r\n2024-03-11T09:30;1;2;0.5;1.5\r\n\r\n"
    )
    result = read(path, options())
    assert result.bars.column("ts").to_pylist() == EXPECTED
    assert result.bars.column("volume").to_pylist() == [0.0, 0.0]
    assert result.warnings == ["no volume column: volume is stored as 0"]
    assert result.rows == 2


def test_identical_repeated_rows_are_stored_once_and_counted(tmp_path):
    row = "2024-03-08T09:30,1,2,0.5,1.5,100"
    path = write_csv(
        tmp_path / "dup.csv",
        f"time,open,high,low,close,volume\n{row}\n{row}\n2024-03-11T09:30,1,2,0.5,1.5,100\n{row}\n",
    )
    result = read(path, options())
    assert result.bars.column("ts").to_pylist() == EXPECTED
    assert result.duplicates_dropped == 2
    assert result.rows == 4


def test_naive_times_outside_the_session_are_warned_about(tmp_path):
    path = _ts_file(tmp_path, ["2024-03-08 02:30:00", "2024-03-08 09:30:00"])
    assert "1 bar(s) start outside 04:00-20:00 New York time" in read(path, options()).warnings[0]


# ---------------------------------------------------------------------------------------------
# Problems, by line


def test_every_row_problem_is_reported_by_line(tmp_path):
    path = write_csv(
        tmp_path / "bad.csv",
        "time,open,high,low,close,volume,vwap,trades\n"  # line 1
        "2024-03-08T09:30,1,2,0.5,1.5,100,1.2,3\n"  # 2: fine
        "2024-03-08T09:31,abc,2,0.5,1.5,100,,\n"  # 3: not a number
        "2024-03-08T09:32,1,2,0.5,,100,,\n"  # 4: empty close
        "2024-03-08T09:33,1,0.5,2,1.5,100,,\n"  # 5: high < low
        "2024-03-08T09:34,1,2,0.5,1.5,-5,,\n"  # 6: negative volume
        "2024-03-08T09:35,1,2,0.5,inf,100,NaN,\n"  # 7: close and vwap not finite
        "yesterday,1,2,0.5,1.5,100,,\n"  # 8: unreadable time
        "\n"  # 9: blank, skipped
        "2024-03-08T09:36:30,1,2,0.5,1.5,100,,\n"  # 10: not a whole minute
        "2024-03-10T02:30,1,2,0.5,1.5,100,,\n"  # 11: skipped by the clock change
        "2024-03-08,1,2,0.5,1.5,100,,\n"  # 12: a date without a time
        "2024-03-08T09:37,1,2,0.5,1.5,100,,2.5\n"  # 13: fractional trades
        "2024-03-08T09:30,1,2,0.5,1.6,100,1.2,3\n"  # 14: repeats line 2's time with other values
        "2024-03-08T09:38,1,2,0.5,1.5,100,,,surplus\n",  # 15: more fields than the header
    )
    result = rejected(path, options())
    assert result.format == "csv"
    assert problems_of(result) == [
        (3, "open", "'abc' is not a number"),
        (4, "close", "is empty"),
        (5, "high/low", "high 0.5 is below low 2"),
        (6, "volume", "'-5' is negative"),
        (7, "close", "'inf' is not finite"),
        (7, "vwap", "'NaN' is not finite"),
        (8, "time", "'yesterday' is not a timestamp like the file's others (e.g. '2024-03-08T09:30')"),
        (10, "time", "'2024-03-08T09:36:30' does not start on a whole minute"),
        (11, "time", "'2024-03-10T02:30' is skipped or repeated by a daylight-saving change in"
                     " America/New_York: write it with an offset"),
        (12, "time", "'2024-03-08' has no time of day, which a minute bar needs"),
        (13, "trades", "'2.5' is not a whole number of trades"),
        (14, "time", "repeats the timestamp of line 2 with other values"),
        (15, None, "has more fields than the header"),
    ]  # fmt: skip
    assert result.total == 13


def test_missing_columns_are_named_with_what_was_looked_for(tmp_path):
    result = rejected(write_csv(tmp_path / "m.csv", "when,open,hi,low\n1,2,3,4\n"), options())
    assert problems_of(result) == [
        (
            None,
            "timestamp",
            "no timestamp column (looked for: timestamp, datetime, date_time, ts, t, time, date)",
        ),
        (None, "high", "no high column (looked for: high, h)"),
        (None, "close", "no close column (looked for: close, c)"),
    ]


def test_first_twenty_problems_and_a_count_of_all(tmp_path):
    rows = "".join(f"2024-03-08T10:{minute:02d},x,2,0.5,1.5,100\n" for minute in range(50))
    result = rejected(write_csv(tmp_path / "many.csv", "time,open,high,low,close,volume\n" + rows), options())
    assert result.total == 50
    assert [line for line, *_ in problems_of(result)] == list(range(2, 22))


def test_bars_closer_than_the_bar_width_are_refused(tmp_path):
    path = _ts_file(tmp_path, ["2024-03-08T09:30", "2024-03-08T09:31", "2024-03-08T10:31"])
    result = rejected(path, options("hour"))
    assert problems_of(result) == [
        (3, "time", "starts less than one 1h bar after the bar on line 2 (are these 1 hour bars?)")
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (gzip.compress(b"time,open\n"), "the file is gzip-compressed: decompress it first"),
        (b"PK\x03\x04rest", "the file is a ZIP archive (or a spreadsheet): export it as CSV first"),
        (b"time,open,high,low,close\n", "the file holds no bars"),
        (b"PAR1 but not really parquet", "not a readable PARQUET file"),
    ],
)
def test_unusable_files(tmp_path, content, message):
    path = tmp_path / "x"
    path.write_bytes(content)
    result = rejected(path, options())
    assert len(result.problems) == result.total == 1
    assert result.problems[0].row is None
    assert result.problems[0].message.startswith(message)


def test_out_of_range_epochs_and_bad_text_in_parquet_rows(tmp_path):
    table = pa.table(
        {
            "ts": [1_709_908_200_000, 99_999_999_999_999_999, 1_709_908_260_000],
            "open": ["1", "2", "three"],
            "high": [2.0, 2.0, 2.0],
            "low": [0.5, 0.5, 0.5],
            "close": [1.5, 1.5, 1.5],
        }
    )
    pq.write_table(table, tmp_path / "p.parquet")
    result = rejected(tmp_path / "p.parquet", options(epoch_unit="ms"))
    assert result.format == "parquet"
    assert [(describe_row(p.row), p.column, p.message) for p in result.problems] == [
        (
            2,
            "ts",
            "'99999999999999999' as epoch milliseconds is outside the supported times,"
            " 1970-01-01 to 2099-12-31 (UTC)",
        ),
        (3, "open", "'three' is not a number"),
    ]


def describe_row(row: int | None) -> int | None:
    return None if row is None else row + 1


def test_options_are_checked():
    with pytest.raises(msgspec.ValidationError, match="unknown time zone"):
        options(tz="Mars/Olympus")
    with pytest.raises(msgspec.ValidationError):
        options("week")
    assert options().tz == "America/New_York"
    assert options().symbol == "IMP"


# ---------------------------------------------------------------------------------------------
# Into the store


def importer(runtime: Runtime) -> Importer:
    services = runtime.services
    return Importer(services.bars, services.catalog, services.versions, writer=services.writer)


async def stored_rows(runtime: Runtime) -> int:
    result = await runtime.stack.clickhouse.run(lambda client: client.query("SELECT count() FROM bars FINAL"))
    return int(result.result_rows[0][0])


async def test_import_registers_a_file_dataset_and_a_reimport_stores_each_bar_once(clean, tmp_path):
    path = tmp_path / "bars.parquet"
    pq.write_table(MINUTES, path)
    first = await importer(clean).run(path, options())
    assert first.dataset.table == "imp_1minute_2024-03-08_2024-03-12"
    assert first.dataset.source == "file"
    assert first.dataset.total_records == MINUTES.num_rows
    assert first.dataset.first_bar == MINUTES.column("ts")[0].as_py()
    assert first.summary.bars == MINUTES.num_rows
    again = await importer(clean).run(path, options())
    assert again.dataset.total_records == MINUTES.num_rows
    assert await stored_rows(clean) == MINUTES.num_rows
    assert [d.table for d in await clean.services.catalog.all()] == [first.dataset.table]
    page = await clean.services.datasets.page(first.dataset.table, 0, 10_000)
    assert page.total == MINUTES.num_rows
    assert [row.ts for row in page.rows[:3]] == MINUTES.column("ts").to_pylist()[:3]


async def test_a_bad_file_stores_nothing(clean, tmp_path):
    path = write_csv(
        tmp_path / "bad.csv",
        "time,open,high,low,close\n2024-03-08T09:30,1,2,0.5,1.5\n2024-03-08T09:31,1,2,0.5,oops\n",
    )
    with pytest.raises(ImportRejected) as caught:
        await importer(clean).run(path, options())
    assert caught.value.total == 1
    assert [(p.line, p.column) for p in caught.value.problems] == [(3, "close")]
    assert describe(caught.value.problems[0], "csv") == "line 3: close: 'oops' is not a number"
    assert "nothing was stored" in str(caught.value)
    assert await stored_rows(clean) == 0
    assert await clean.services.catalog.all() == []


async def test_file_and_fetched_bars_never_mix(clean, tmp_path):
    await clean.services.fetcher.run(
        FetchRequest(symbols=["IMP"], timespan="day", from_=dt.date(2024, 1, 2), to=dt.date(2024, 1, 31),
                     source="synthetic")
    )  # fmt: skip
    daily = tmp_path / "days.csv"
    frame(DAYS).write_csv(daily)
    with pytest.raises(SourceConflict, match="stored from synthetic"):
        await importer(clean).run(daily, options("day"))
    minutes = tmp_path / "minutes.parquet"
    pq.write_table(MINUTES, minutes)
    await importer(clean).run(minutes, options())  # another series of the symbol is fine
    fetched = await clean.services.fetcher.run(
        FetchRequest(symbols=["IMP"], timespan="minute", from_=dt.date(2024, 3, 8), to=dt.date(2024, 3, 8),
                     source="synthetic")
    )  # fmt: skip
    assert "stored from file" in (fetched.progress[0].error or "")
    assert await stored_rows(clean) == MINUTES.num_rows + 21  # 21 trading days of January


async def test_files_over_the_limit_are_refused_before_reading(clean, tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:
        handle.truncate(MAX_IMPORT_BYTES + 1)  # sparse: takes no disk
    with pytest.raises(ImportTooLarge, match="at most 512 MiB"):
        await importer(clean).run(path, options())
