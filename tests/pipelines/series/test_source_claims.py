"""Claims on the real stores: a series is checked and claimed in one step, so two sources never mix.

Each writer run (a fetch, an import, a flat-file load, a live stream) claims its series before it
writes; every write claims again. These tests drive the write path and the writers with two
sources at once and read back what was stored.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from api.runtime import Runtime
from pipelines.ingest.fetch import MARKET
from pipelines.ingest.flat_files import FlatFileSourceConflict
from pipelines.ingest.live import LiveRecorder, LiveSourceConflict
from pipelines.series.writes import BarWriter, Claim, DatasetExtent, SourceConflict
from schemas.bars import SeriesKey
from schemas.datasets import FetchRequest
from schemas.flat_files import FlatFileProgress, FlatFileRequest
from tests.data import rising_bars
from tests.loopback.polygon_flat import day_rows, write_day
from warehouse.catalog.claims import CLAIM_TTL, SeriesCode

DAY_MS = 86_400_000
JUNE_3 = dt.date(2024, 6, 3)
DAILY = SeriesCode(multiplier=1, timespan="day", adjusted=True)


def at(moment: str) -> dt.datetime:
    return dt.datetime.fromisoformat(moment).replace(tzinfo=dt.UTC)


def days(start: dt.datetime, count: int) -> pa.RecordBatch:
    return rising_bars(start, count, DAY_MS)


def of_symbols(**counts: int) -> pa.Table:
    """Daily bars of each symbol (``count`` days from 2024-06-03), with a ``symbol`` column."""
    parts = []
    for symbol, count in counts.items():
        part = pa.Table.from_batches([days(at("2024-06-03T04:00"), count)])
        parts.append(part.append_column("symbol", pa.repeat(symbol, count)))
    return pa.concat_tables(parts)


def writer(runtime: Runtime) -> BarWriter:
    return runtime.services.writer


def key(symbol: str, series: str = "1d", adjusted: bool = True) -> SeriesKey:
    return SeriesKey.of(symbol=symbol, series=series, adjusted=adjusted)


async def by_source(runtime: Runtime, symbol: str) -> dict[str, int]:
    """Distinct bars of ``symbol`` in the bar store, per source."""
    rows = await runtime.stack.clickhouse.run(
        lambda c: (
            c.query(
                "SELECT source, count() FROM bars FINAL WHERE symbol = {symbol:String} GROUP BY source",
                parameters={"symbol": symbol},
            ).result_rows
        )
    )
    return {source: count for source, count in rows}


async def age(runtime: Runtime, minutes: float) -> None:
    """Make every claim ``minutes`` old (as if its writer had stopped refreshing it then)."""
    async with runtime.stack.pool.connection() as conn:
        await conn.execute(
            "UPDATE series_claims SET claimed_at = now() - %s", (dt.timedelta(minutes=minutes),)
        )


async def test_a_series_stored_from_another_source_is_refused_with_its_dataset(clean: Runtime):
    [stored] = await writer(clean).register(
        [DatasetExtent(key=key("MIX"), source="synthetic", start=JUNE_3, end=JUNE_3)]
    )
    polygon = Claim(source="polygon", doing="fetching from polygon")

    refused = await writer(clean).claim("1d", True, ["MIX", "OWN"], polygon)

    assert list(refused) == ["MIX"]
    assert str(refused["MIX"]) == (
        "MIX 1d bars are stored from synthetic (dataset mix_1day_2024-06-03_2024-06-03);"
        " delete it before fetching from polygon"
    )
    assert (refused["MIX"].symbol, refused["MIX"].source, refused["MIX"].dataset) == (
        "MIX",
        "synthetic",
        stored.table,
    )
    assert await clean.services.writer.claims.held(polygon.holder) == [(DAILY, "OWN")]
    # the same source, another bar width, the other adjustment: all free
    assert await writer(clean).claim("1d", True, ["MIX"], Claim(source="synthetic", doing="x")) == {}
    assert await writer(clean).claim("1m", True, ["MIX"], polygon) == {}
    assert await writer(clean).claim("1d", False, ["MIX"], polygon) == {}
    with pytest.raises(SourceConflict, match="stored from synthetic"):
        await writer(clean).write(key("MIX"), polygon, days(at("2024-06-03T04:00"), 2))
    assert await by_source(clean, "MIX") == {}


async def test_a_claim_binds_its_series_before_any_dataset_and_until_released(clean: Runtime):
    importing = Claim(source="file", doing="importing a file of them")
    fetching = Claim(source="polygon", doing="fetching from polygon")
    assert await writer(clean).claim("1d", True, ["UPL"], importing) == {}

    refused = await writer(clean).claim("1d", True, ["UPL"], fetching)
    with pytest.raises(SourceConflict) as caught:
        await writer(clean).write(key("UPL"), fetching, days(at("2024-06-03T04:00"), 3))
    written = await writer(clean).write(key("UPL"), importing, days(at("2024-06-03T04:00"), 5))

    assert str(refused["UPL"]) == (
        "UPL 1d bars are being stored from file right now; try again when that has finished"
        " (then delete its dataset before fetching from polygon)"
    )
    assert refused["UPL"].dataset is None
    assert str(caught.value) == str(refused["UPL"])
    assert written.rows == 5
    assert await by_source(clean, "UPL") == {"file": 5}

    await writer(clean).release(importing)  # an import that failed: nothing registered
    assert await writer(clean).claims.held(importing.holder) == []
    assert await writer(clean).claim("1d", True, ["UPL"], fetching) == {}


async def test_a_registered_dataset_binds_after_its_writer_released_its_claim(clean: Runtime):
    async with writer(clean).holding("synthetic", "fetching from synthetic") as fetching:
        await writer(clean).write(key("REG"), fetching, days(at("2024-06-03T04:00"), 2))
        await writer(clean).register(
            [DatasetExtent(key=key("REG"), source="synthetic", start=JUNE_3, end=JUNE_3)]
        )
    assert await writer(clean).claims.held(fetching.holder) == []

    refused = await writer(clean).claim("1d", True, ["REG"], Claim(source="file", doing="importing"))

    assert refused["REG"].dataset == "reg_1day_2024-06-03_2024-06-03"


async def test_runs_of_one_source_share_a_series_and_each_drops_only_its_own_claims(clean: Runtime):
    first = Claim(source="polygon", doing="fetching from polygon")
    second = Claim(source="polygon", doing="fetching from polygon")
    assert await writer(clean).claim("1d", True, ["TWO"], first) == {}
    assert await writer(clean).claim("1d", True, ["TWO"], second) == {}

    await writer(clean).release(first)  # stored nothing: its claims go, the second run's stay
    refused = await writer(clean).claim("1d", True, ["TWO"], Claim(source="file", doing="importing"))

    assert refused["TWO"].source == "polygon"
    assert await writer(clean).claims.held(second.holder) == [(DAILY, "TWO")]


async def test_a_stale_claim_is_taken_over_and_its_writer_is_then_refused(clean: Runtime):
    crashed = Claim(source="synthetic", doing="fetching from synthetic")
    assert await writer(clean).claim("1d", True, ["OLD"], crashed) == {}
    await age(clean, CLAIM_TTL.total_seconds() / 60 - 1)
    assert list(await writer(clean).claim("1d", True, ["OLD"], Claim(source="file", doing="x"))) == ["OLD"]
    await age(clean, CLAIM_TTL.total_seconds() / 60 + 1)
    importing = Claim(source="file", doing="importing a file of them")

    assert await writer(clean).claim("1d", True, ["OLD"], importing) == {}
    await writer(clean).refresh(crashed)  # too late: its claim is gone
    with pytest.raises(SourceConflict, match="being stored from file"):
        await writer(clean).write(key("OLD"), crashed, days(at("2024-06-03T04:00"), 1))
    assert await by_source(clean, "OLD") == {}


async def test_a_refresh_keeps_a_claim_binding(clean: Runtime):
    streaming = Claim(source="polygon", doing="streaming live polygon bars")
    assert await writer(clean).claim("1m", True, ["KEPT"], streaming) == {}
    await age(clean, CLAIM_TTL.total_seconds() / 60 + 1)

    await writer(clean).refresh(streaming)

    refused = await writer(clean).claim("1m", True, ["KEPT"], Claim(source="synthetic", doing="x"))
    assert refused["KEPT"].source == "polygon"


async def test_a_multi_symbol_write_drops_the_rows_of_refused_symbols(clean: Runtime):
    services = clean.services
    holding = Claim(source="file", doing="importing a file of them")
    await writer(clean).claim("1d", True, ["BBB"], holding)
    bbb_before = await services.versions.current(key("BBB"))

    written = await writer(clean).write_symbols(
        "1d", True, Claim(source="polygon", doing="fetching from polygon"), of_symbols(AAA=3, BBB=2)
    )

    assert written.rows == 3
    assert written.span == (at("2024-06-03T04:00"), at("2024-06-05T04:00"))
    assert written.refused == {
        "BBB": "BBB 1d bars are being stored from file right now; try again when that has finished"
        " (then delete its dataset before fetching from polygon)"
    }
    assert await by_source(clean, "AAA") == {"polygon": 3}
    assert await by_source(clean, "BBB") == {}
    assert await services.versions.current(key("BBB")) == bbb_before
    assert (await services.versions.current(key("AAA"))).months == {202406: 1}

    every = await writer(clean).write_symbols(
        "1d", True, Claim(source="synthetic", doing="x"), of_symbols(BBB=1)
    )
    assert (every.rows, every.span, list(every.refused)) == (0, None, ["BBB"])


async def test_a_market_lease_refuses_new_symbols_of_other_sources_and_keeps_their_own(clean: Runtime):
    await writer(clean).register(
        [DatasetExtent(key=key("OWNED", adjusted=False), source="synthetic", start=JUNE_3, end=JUNE_3)]
    )
    synthetic = Claim(source="synthetic", doing="fetching from synthetic")
    assert await writer(clean).claim("1d", False, ["BUSY"], synthetic) == {}
    loading = Claim(source="polygon", doing="loading flat files")

    assert await writer(clean).lease_market("1d", False, loading) is None

    refused = await writer(clean).claim("1d", False, ["NEW", "OWNED", "BUSY"], synthetic)
    assert list(refused) == ["NEW"]
    assert str(refused["NEW"]) == (
        "NEW 1d bars are being stored from polygon right now (a whole-market load); try again when that"
        " has finished"
    )
    assert await writer(clean).others("1d", False, "polygon") == {"OWNED", "BUSY"}
    other_market = await writer(clean).lease_market("1d", False, synthetic)
    assert other_market is not None
    assert str(other_market) == (
        "1d bars of the whole market are being stored from polygon right now;"
        " try again when that has finished"
    )
    # a second run of the same source leases the market too; the adjusted series is another market
    assert await writer(clean).lease_market("1d", False, Claim(source="polygon", doing="x")) is None
    assert await writer(clean).claim("1d", True, ["NEW"], synthetic) == {}

    await writer(clean).release(loading)
    assert list(await writer(clean).claim("1d", False, ["NEW"], synthetic)) == ["NEW"]  # the other run
    assert await writer(clean).claims.held(loading.holder) == []


async def test_writers_of_two_sources_racing_for_one_series_never_both_win(clean: Runtime):
    runs = [Claim(source=("file", "polygon")[k % 2], doing="racing") for k in range(8)]

    answers = await asyncio.gather(*(writer(clean).claim("1d", True, ["RACE"], run) for run in runs))

    winners = {run.source for run, refused in zip(runs, answers, strict=True) if not refused}
    losers = {run.source for run, refused in zip(runs, answers, strict=True) if refused}
    assert len(winners) == 1
    assert losers == {"file", "polygon"} - winners
    assert all(refused["RACE"].source in winners for refused in answers if refused)


async def test_a_fetch_while_an_import_holds_the_series_leaves_that_symbol_out(clean: Runtime):
    request = FetchRequest(
        symbols=["HELD", "FREE"], timespan="day", from_=dt.date(2024, 6, 3), to=dt.date(2024, 6, 7),
        source="synthetic",
    )  # fmt: skip
    async with writer(clean).holding("file", "importing a file of them") as importing:
        assert await writer(clean).claim("1d", True, ["HELD"], importing) == {}

        outcome = await clean.services.fetcher.run(request)

    progress = {item.symbol: item for item in outcome.progress}
    assert progress["HELD"].error == (
        "HELD 1d bars are being stored from file right now; try again when that has finished"
        " (then delete its dataset before fetching from synthetic)"
    )
    assert (progress["HELD"].bars, progress["FREE"].bars, progress["FREE"].error) == (0, 5, None)
    assert [(d.symbol, d.source) for d in outcome.datasets] == [("FREE", "synthetic")]
    assert await by_source(clean, "HELD") == {}
    assert await writer(clean).claims.held(importing.holder) == []

    again = await clean.services.fetcher.run(request)  # the import is over and stored nothing
    assert sorted((d.symbol, d.total_records) for d in again.datasets) == [("FREE", 5), ("HELD", 5)]
    async with clean.stack.pool.connection() as conn:
        assert await (await conn.execute("SELECT count(*) FROM series_claims")).fetchone() == (0,)


async def test_live_bars_are_refused_while_another_source_writes_the_series(clean: Runtime):
    services = clean.services
    live = LiveRecorder(
        services.bars, services.catalog, services.versions, services.publisher, source="polygon",
        writer=services.writer,
    )  # fmt: skip
    async with writer(clean).holding("synthetic", "fetching from synthetic") as fetching:
        await writer(clean).claim("1m", True, ["LIVE"], fetching)
        with pytest.raises(LiveSourceConflict) as caught:
            await live.prepare(["LIVE"])
    assert str(caught.value) == (
        "LIVE minute bars are being stored from synthetic right now; live polygon bars would mix sources"
        " in one series (try again when that has finished)"
    )
    assert await writer(clean).claims.held(live.claim.holder) == []

    await live.prepare(["LIVE"])
    refused = await writer(clean).claim("1m", True, ["LIVE"], Claim(source="file", doing="importing"))
    await live.close()
    assert refused["LIVE"].source == "polygon"
    assert await writer(clean).claims.held(live.claim.holder) == []


async def test_flat_files_leave_out_symbols_being_stored_from_another_source(clean: Runtime, tmp_path):
    rng = np.random.default_rng(3)
    for day in (dt.date(2024, 1, 2), dt.date(2024, 1, 3)):
        write_day(tmp_path, "day", day, day_rows(day, "day", ["AAPL", "MSFT"], rng))
    loader = clean.services.flat_files
    everything = FlatFileRequest(source=str(tmp_path), timespan="day")
    async with writer(clean).holding("synthetic", "fetching from synthetic") as fetching:
        await writer(clean).claim("1d", False, ["MSFT"], fetching)

        outcome = await loader.run(everything)
        with pytest.raises(FlatFileSourceConflict, match="MSFT 1d unadjusted bars are stored from another"):
            await loader.run(FlatFileRequest(source=str(tmp_path), timespan="day", symbols=["MSFT"]))
        market = await writer(clean).lease_market("1d", False, fetching)

    assert outcome.skipped_symbols == ["MSFT"]
    assert [d.symbol for d in outcome.datasets] == ["AAPL"]
    assert await by_source(clean, "MSFT") == {}
    assert await by_source(clean, "AAPL") == {"polygon": 2}
    assert market is None  # the load released its lease when it ended

    async with writer(clean).holding("synthetic", "fetching from synthetic") as fetching:
        assert await writer(clean).lease_market("1d", False, fetching) is None
        with pytest.raises(FlatFileSourceConflict) as caught:
            await loader.run(everything)
    assert str(caught.value) == (
        "1d bars of the whole market are being stored from synthetic right now;"
        " try again when that has finished"
    )


async def test_a_market_fetch_leaves_out_symbols_being_stored_from_another_source(clean: Runtime, polygon):
    midnight = int(dt.datetime(2024, 7, 1, 4, 0, tzinfo=dt.UTC).timestamp() * 1000)
    for ticker in ("MKTA", "MKTB"):
        polygon.add_bars(ticker, 1, "day", {"t": np.array([midnight]), "o": np.array([1.0]),
                                            "h": np.array([2.0]), "l": np.array([0.5]),
                                            "c": np.array([1.5]), "v": np.array([10.0])})  # fmt: skip
    request = FetchRequest(market=True, from_=dt.date(2024, 7, 1), to=dt.date(2024, 7, 1), source="polygon")
    async with writer(clean).holding("file", "importing a file of them") as importing:
        await writer(clean).claim("1d", True, ["MKTB"], importing)

        outcome = await clean.services.fetcher.run(request)

    assert outcome.skipped == ["MKTB"]
    assert [(d.symbol, d.source) for d in outcome.datasets] == [("MKTA", "polygon")]
    assert await by_source(clean, "MKTB") == {}
    assert outcome.progress[0].symbol == MARKET


async def test_a_flat_file_load_whose_lease_went_to_another_source_stops_before_the_next_file(
    clean: Runtime, tmp_path
):
    rng = np.random.default_rng(4)
    for day in (dt.date(2024, 1, 2), dt.date(2024, 1, 3)):
        write_day(tmp_path, "day", day, day_rows(day, "day", ["AAPL"], rng))
    synthetic = Claim(source="synthetic", doing="fetching from synthetic")
    taken: list[object] = []

    async def progress(item: FlatFileProgress) -> None:
        if item.files_done == 1 and not taken:  # the load stalled past the TTL; another source came
            await age(clean, CLAIM_TTL.total_seconds() / 60 + 1)
            taken.append(await writer(clean).lease_market("1d", False, synthetic))

    outcome = await clean.services.flat_files.run(
        FlatFileRequest(source=str(tmp_path), timespan="day"), progress
    )

    reason = (
        "1d bars of the whole market are being stored from synthetic right now;"
        " try again when that has finished"
    )
    assert taken == [None]
    assert (outcome.stopped, outcome.interrupted) == (True, reason)
    assert [(f.file.rsplit("/", 1)[-1], f.error) for f in outcome.progress.failures] == [
        ("2024-01-03.csv.gz", reason)
    ]
    assert outcome.message.endswith(f"; stopped: {reason}")
    assert [(d.symbol, d.total_records) for d in outcome.datasets] == [("AAPL", 1)]
    assert await by_source(clean, "AAPL") == {"polygon": 1}
    await writer(clean).release(synthetic)
