"""Polygon flat files loaded by ClickHouse itself: exact, once, filtered, atomic per file, from disk or S3."""

from __future__ import annotations

import datetime as dt
import gzip

import numpy as np
import pytest

from api.runtime import Runtime
from pipelines.ingest.flat_files import FlatFileLoader, FlatFilesNotFound, FlatFileSourceConflict
from schemas.datasets import FetchRequest, series_of
from schemas.flat_files import FlatFileProgress, FlatFileRequest
from tests.loopback.polygon_flat import HEADER, Row, day_path, day_rows, loopback_s3, write_day, write_text
from warehouse.clickhouse.flat_files import FlatFileStore, S3Access

DAYS = [dt.date(2024, 1, 2), dt.date(2024, 1, 3), dt.date(2024, 1, 31), dt.date(2024, 2, 1)]
TICKERS = ["AAPL", "MSFT", "BRK.A"]


def request(source, timespan="minute", **extra) -> FlatFileRequest:
    return FlatFileRequest(source=str(source), timespan=timespan, **extra)


def expected(rows: list[Row]) -> set[tuple[object, ...]]:
    return {(r.ticker, r.ts, r.open, r.high, r.low, r.close, r.volume, r.transactions) for r in rows}


async def stored(runtime: Runtime, series: str) -> list[tuple[object, ...]]:
    def query(client):
        return client.query(
            "SELECT symbol, ts, open, high, low, close, volume, transactions, source, adjusted, vwap"
            " FROM bars FINAL WHERE timespan = {series:String} ORDER BY symbol, ts",
            parameters={"series": series},
        ).result_rows

    rows = await runtime.stack.clickhouse.run(query)
    assert {(row[8], row[9], row[10]) for row in rows} <= {("polygon", False, None)}
    return [(row[0], row[1].replace(tzinfo=dt.UTC), *row[2:8]) for row in rows]


async def raw_count(runtime: Runtime) -> int:
    return await runtime.stack.clickhouse.run(lambda c: int(c.command("SELECT count() FROM bars")))


@pytest.fixture
def minute_tree(tmp_path):
    rng = np.random.default_rng(7)
    rows = {day: day_rows(day, "minute", TICKERS, rng) for day in DAYS}
    for day, day_rows_ in rows.items():
        write_day(tmp_path, "minute", day, day_rows_)
    return tmp_path, rows


async def test_minute_files_store_every_bar_exactly_once(clean: Runtime, minute_tree):
    root, rows = minute_tree
    every = [row for day_rows_ in rows.values() for row in day_rows_]
    seen: list[tuple[int, int, int]] = []

    async def progress(item: FlatFileProgress) -> None:
        seen.append((item.files_done, item.files_total, item.bars))

    outcome = await clean.services.flat_files.run(request(root), progress)

    assert not outcome.failed
    assert outcome.progress.bars == len(every)
    assert seen[0] == (0, 4, 0)
    assert seen[-1] == (4, 4, len(every))
    assert [done for done, _, _ in seen[:-1]] == [0, 1, 2, 3]
    assert set(await stored(clean, "1m")) == expected(every)
    assert len(await stored(clean, "1m")) == len(every)
    datasets = {d.table: d for d in outcome.datasets}
    assert set(datasets) == {
        "aapl_1minute_2024-01-02_2024-02-01_raw",
        "msft_1minute_2024-01-02_2024-02-01_raw",
        "brk-a_1minute_2024-01-02_2024-02-01_raw",
    }
    for dataset in datasets.values():
        assert dataset.source == "polygon"
        assert dataset.adjusted is False
        assert dataset.total_records == len(every) // len(TICKERS)
        assert dataset.first_bar == min(r.ts for r in every if r.ticker == dataset.symbol)
        assert dataset.last_bar == max(r.ts for r in every if r.ticker == dataset.symbol)
    catalog = {d.table: d.total_records for d in await clean.services.catalog.all()}
    assert catalog == {name: d.total_records for name, d in datasets.items()}

    again = await clean.services.flat_files.run(request(root))

    assert again.progress.bars == len(every)
    assert len(await stored(clean, "1m")) == len(every)
    assert {d.table: d.total_records for d in await clean.services.catalog.all()} == catalog
    version = await clean.services.versions.get(series_of(outcome.datasets[0]))
    assert version.endswith(".2")  # bumped once per load


async def test_chart_reads_the_loaded_minute_bars(clean: Runtime, minute_tree, client):
    root, rows = minute_tree
    await clean.services.flat_files.run(request(root, symbols=["AAPL"]))
    answer = await client.post(
        "/api/v1/stocks/chart-data",
        json={
            "symbol": "AAPL",
            "timeframe": "1m",
            "adjusted": False,
            "from": "2024-01-01",
            "to": "2024-02-02",
        },
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    aapl = [r for day_rows_ in rows.values() for r in day_rows_ if r.ticker == "AAPL"]
    assert answer.headers["X-K2Q-Rows"] == str(len(aapl))


async def test_day_files_filtered_by_symbol_and_range(clean: Runtime, tmp_path):
    rng = np.random.default_rng(11)
    days = [dt.date(2023, 12, 29), dt.date(2024, 1, 2), dt.date(2024, 1, 3), dt.date(2024, 1, 4)]
    rows = {day: day_rows(day, "day", [*TICKERS, "ZVZZT"], rng) for day in days}
    for day, day_rows_ in rows.items():
        write_day(tmp_path, "day", day, day_rows_)

    outcome = await clean.services.flat_files.run(
        request(tmp_path, "day", symbols=["msft", "ZVZZT"], from_=dt.date(2024, 1, 1), to=dt.date(2024, 1, 3))
    )

    wanted = [r for day in days[1:3] for r in rows[day] if r.ticker in ("MSFT", "ZVZZT")]
    assert set(await stored(clean, "1d")) == expected(wanted)
    assert len(outcome.plan.files) == 2
    assert sorted(d.table for d in outcome.datasets) == [
        "msft_1day_2024-01-01_2024-01-03_raw",
        "zvzzt_1day_2024-01-01_2024-01-03_raw",
    ]
    assert all(d.total_records == 2 for d in outcome.datasets)
    # day bars start at New York midnight, as Polygon's REST day bars do
    assert {
        r[1].astimezone(dt.timezone(dt.timedelta(hours=-5))).time() for r in await stored(clean, "1d")
    } == {dt.time()}


async def test_locations_are_found_forgivingly_and_refused_clearly(clean: Runtime, tmp_path):
    rng = np.random.default_rng(3)
    write_day(tmp_path, "day", dt.date(2024, 3, 1), day_rows(dt.date(2024, 3, 1), "day", ["AAPL"], rng))
    loader = clean.services.flat_files
    for source in (tmp_path, tmp_path / "us_stocks_sip", tmp_path / "us_stocks_sip" / "day_aggs_v1"):
        plan = await loader.plan(request(source, "day"))
        assert [f.day for f in plan.files] == [dt.date(2024, 3, 1)]

    dataset_dir = tmp_path / "us_stocks_sip" / "day_aggs_v1"
    cases = [
        (request(tmp_path / "nope", "day"), "no such directory"),
        (request(day_path(tmp_path, "day", dt.date(2024, 3, 1)), "day"), "is a file"),
        (request(dataset_dir, "minute"), "use --timespan day"),
        (
            request(tmp_path, "minute"),
            "has no minute_aggs_v1/ directory; it has day_aggs_v1: use --timespan day",
        ),
        (request(tmp_path.parent, "day"), "has no us_stocks_sip/ directory"),
        (request(tmp_path, "day", from_=dt.date(2024, 4, 1)), "no day_aggs_v1 day files from 2024-04-01 on"),
        (request("https://example.com/files", "day"), "local directory or s3://"),
        (request("s3://Bad_Bucket/x", "day"), "not an S3 bucket name"),
        (request("s3://flatfiles/us_stocks_sip/*", "day"), "S3 prefixes may hold"),
    ]
    for bad, message in cases:
        with pytest.raises(FlatFilesNotFound, match=message.replace("(", r"\(")):
            await loader.plan(bad)
    assert await raw_count(clean) == 0


async def test_a_malformed_file_stores_nothing_and_the_others_load(clean: Runtime, tmp_path):
    rng = np.random.default_rng(5)
    good_day, bad_days = dt.date(2024, 5, 1), [dt.date(2024, 5, d) for d in (2, 3, 6, 7, 8, 9)]
    good = day_rows(good_day, "minute", ["AAPL"], rng)
    write_day(tmp_path, "minute", good_day, good)

    # Over a million rows, a bad one last: ClickHouse would have written the first blocks already
    # if the file were not squashed into one insert.
    n = 1_200_000
    ws = int(dt.datetime(2024, 5, 2, 13, 30, tzinfo=dt.UTC).timestamp()) * 10**9
    tickers = np.char.add("T", (np.arange(n) % 4000).astype(str))
    starts = (ws + (np.arange(n) // 4000) * 60 * 10**9).astype(str)
    body = np.char.add(np.char.add(tickers, ",100,1.5,1.6,1.7,1.4,"), np.char.add(starts, ",7"))
    text = HEADER + "\n" + "\n".join(body.tolist()) + "\nT1,100,1.5,not-a-price,1.7,1.4," + str(ws) + ",7\n"
    write_text(day_path(tmp_path, "minute", bad_days[0]), text)

    whole = gzip.compress(("\n".join([HEADER, *(r.line() for r in good)]) + "\n").encode())
    day_path(tmp_path, "minute", bad_days[1]).write_bytes(whole[: len(whole) // 2])  # truncated download
    ms_instead_of_ns = [
        r.line().replace(str(r.window_start_ns), str(r.window_start_ns // 10**6)) for r in good
    ]
    write_text(day_path(tmp_path, "minute", bad_days[2]), "\n".join([HEADER, *ms_instead_of_ns]) + "\n")
    write_text(
        day_path(tmp_path, "minute", bad_days[3]),
        "ticker,volume,open,high,low,window_start,transactions\nAAPL,1,1,1,1," + str(ws) + ",1\n",
    )
    write_text(day_path(tmp_path, "minute", bad_days[4]), HEADER + "\nAAPL,1,1,1,1,1," + str(ws) + "\n")
    day_path(tmp_path, "minute", bad_days[5]).write_bytes(b"")

    outcome = await clean.services.flat_files.run(request(tmp_path, symbols=None))

    assert outcome.failed
    errors = {f.file.rsplit("/", 1)[1]: f.error for f in outcome.progress.failures}
    assert sorted(errors) == [f"{day}.csv.gz" for day in bad_days]
    assert "(at row 1200002)" in errors["2024-05-02.csv.gz"]  # the line, counting the header
    assert "corrupt or truncated gzip" in errors["2024-05-03.csv.gz"]
    assert "outside the file's day" in errors["2024-05-06.csv.gz"]
    assert "expected the header" in errors["2024-05-07.csv.gz"]
    assert "2024-05-08.csv.gz" in errors["2024-05-08.csv.gz"]
    assert "empty" in errors["2024-05-09.csv.gz"]
    for error in errors.values():
        assert "\n" not in error
    assert set(await stored(clean, "1m")) == expected(good)
    assert await raw_count(clean) == len(good)
    assert [d.symbol for d in outcome.datasets] == ["AAPL"]
    assert "stored 30 bars from 1 of 7 files" in outcome.message


async def test_repeated_failures_stop_the_load(clean: Runtime, tmp_path):
    for day in range(1, 9):
        write_text(day_path(tmp_path, "day", dt.date(2024, 6, day)), "garbage\n")
    outcome = await clean.services.flat_files.run(request(tmp_path, "day"))
    assert outcome.stopped
    assert outcome.progress.files_done == 5
    assert "stopped after 5 files in a row failed" in outcome.message


async def test_series_from_another_source_are_left_alone(clean: Runtime, minute_tree):
    root, _ = minute_tree
    synthetic = FetchRequest(
        symbols=["MSFT"], timespan="minute", from_=dt.date(2024, 1, 2), to=dt.date(2024, 1, 2),
        adjusted=False, source="synthetic",
    )  # fmt: skip
    await clean.services.fetcher.run(synthetic)
    before = await clean.stack.clickhouse.run(
        lambda c: c.query("SELECT count(), sum(volume) FROM bars FINAL WHERE symbol = 'MSFT'").result_rows
    )

    outcome = await clean.services.flat_files.run(request(root))

    assert outcome.skipped_symbols == ["MSFT"]
    assert "skipped MSFT: stored from another source" in outcome.message
    assert sorted(d.symbol for d in outcome.datasets) == ["AAPL", "BRK.A"]
    after = await clean.stack.clickhouse.run(
        lambda c: c.query("SELECT count(), sum(volume) FROM bars FINAL WHERE symbol = 'MSFT'").result_rows
    )
    assert after == before
    with pytest.raises(FlatFileSourceConflict, match="stored from another source"):
        await clean.services.flat_files.run(request(root, symbols=["MSFT"]))


async def test_files_load_from_s3(clean: Runtime, minute_tree):
    root, rows = minute_tree
    every = [row for day_rows_ in rows.values() for row in day_rows_]
    with loopback_s3() as s3:
        assert s3.upload_tree("flatfiles", root) == len(DAYS)
        access = S3Access(endpoint=s3.endpoint, access_key_id="flat-key", secret_access_key="flat-secret")
        services = clean.services
        loader = FlatFileLoader(
            FlatFileStore(clean.stack.clickhouse, access),
            services.bars,
            services.catalog,
            services.versions,
            writer=services.writer,
        )

        outcome = await loader.run(request("s3://flatfiles/us_stocks_sip", to=dt.date(2024, 1, 31)))
        assert [f.display for f in outcome.plan.files] == [
            f"s3://flatfiles/us_stocks_sip/minute_aggs_v1/{d:%Y/%m}/{d}.csv.gz" for d in DAYS[:3]
        ]
        assert set(await stored(clean, "1m")) == expected([r for d in DAYS[:3] for r in rows[d]])

        again = await loader.run(request("s3://flatfiles"))
        assert not again.failed
        assert set(await stored(clean, "1m")) == expected(every)
        assert await raw_count(clean) == len(every)

        with pytest.raises(FlatFilesNotFound, match="cannot list s3://nobucket"):
            await loader.plan(request("s3://nobucket"))
        with pytest.raises(FlatFilesNotFound, match="no minute_aggs_v1 day files between"):
            await loader.plan(request("s3://flatfiles", from_=dt.date(2020, 1, 1), to=dt.date(2020, 2, 1)))


async def test_a_stop_between_files_keeps_and_registers_what_was_loaded(clean: Runtime, tmp_path):
    rng = np.random.default_rng(12)
    days = [dt.date(2024, 1, 2), dt.date(2024, 1, 3), dt.date(2024, 1, 4)]
    rows = {day: day_rows(day, "day", TICKERS, rng) for day in days}
    for day, day_rows_ in rows.items():
        write_day(tmp_path, "day", day, day_rows_)
    asked: list[int] = []

    async def after_first_file() -> bool:  # e.g. the job was cancelled while the first file loaded
        asked.append(1)
        return len(asked) > 1

    outcome = await clean.services.flat_files.run(request(tmp_path, "day"), should_stop=after_first_file)

    assert outcome.stopped
    assert outcome.cancelled
    assert outcome.progress.files_done == 1
    assert "cancelled after 1 of 3 files" in outcome.message
    assert set(await stored(clean, "1d")) == expected(rows[days[0]])
    assert {d.symbol for d in outcome.datasets} == {r.ticker for r in rows[days[0]]}
