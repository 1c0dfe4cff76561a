"""Strategies over HTTP and the WebSocket: catalog, versions, backtests, audit, sweeps, screens, 4xx."""

from __future__ import annotations

import asyncio
import io

import httpx
import numpy as np
import pyarrow as pa
import pytest
import talib

from api.runtime import Runtime
from pipelines.indicators.own import OwnContext
from pipelines.indicators.specs import BucketSeries
from pipelines.strategies.backtest import BacktestSettings, run_backtest, trades_of
from pipelines.strategies.language.evaluate import StrategyInputs, resolve_params
from pipelines.strategies.language.syntax import parse_program
from pipelines.strategies.runs import RunCancelled
from schemas.bars import SeriesKey
from tests.api.test_events import received, socket
from tests.conftest import app_client, drain_jobs
from tests.process import serve_app

SYMBOLS = ["STRA", "STRB", "STRC"]
FETCH = {
    "symbols": SYMBOLS,
    "timespan": "day",
    "from": "2021-01-01",
    "to": "2023-12-31",
    "source": "synthetic",
}
CROSS = """\
# SMA crossover, long and short
fast = param(10, min=2, max=100)
slow = param(30, min=5, max=400)
long_entry = crossover(sma(close, fast), sma(close, slow))
short_entry = crossunder(sma(close, fast), sma(close, slow))
stop_loss = 6
"""
PEEK = "long_entry = close[-1] > close\nlong_exit = close[-1] < close\n"


@pytest.fixture
async def stored(clean: Runtime, team: dict[str, str]) -> Runtime:
    """Three years of synthetic daily bars for three symbols."""
    async with app_client(clean, team["ana"]) as http:
        assert (await http.post("/api/v1/stocks/fetch", json=FETCH)).status_code == 202
    await drain_jobs(clean)
    return clean


async def _bars(runtime: Runtime, symbol: str) -> BucketSeries:
    table = await runtime.services.bars.bucket_series(
        SeriesKey.of(symbol=symbol, series="1d", adjusted=True), "1d"
    )
    return BucketSeries.of(table)


async def _create(http: httpx.AsyncClient, name: str, code: str) -> dict[str, object]:
    answer = await http.post("/api/v1/strategies/create", json={"name": name, "code": code})
    assert answer.status_code == 201, answer.text
    created: dict[str, object] = answer.json()
    return created


async def _run(
    runtime: Runtime, http: httpx.AsyncClient, path: str, body: dict[str, object]
) -> dict[str, object]:
    accepted = await http.post(f"/api/v1/strategies/{path}", json=body)
    assert accepted.status_code == 202, accepted.text
    run_id = accepted.json()["run_id"]
    assert accepted.json()["status_url"] == f"/api/v1/strategies/runs/{run_id}"
    await drain_jobs(runtime)
    run = (await http.get(f"/api/v1/strategies/runs/{run_id}")).json()
    assert run["status"] == "complete", run
    result: dict[str, object] = run
    return result


async def test_strategies_are_versioned_checked_and_owned(clean: Runtime, team):
    async with (
        app_client(clean, team["ana"]) as ana,
        app_client(clean, team["bea"]) as bea,
        app_client(clean, team["vic"]) as vic,
    ):
        created = await _create(ana, "cross", CROSS)
        assert (created["version"], created["author"], created["performance_metrics"]) == (1, "ana", {})
        assert [p["name"] for p in created["parameters"]] == ["fast", "slow"]
        assert created["parameters"][0] == {
            "name": "fast", "default": 10.0, "minimum": 2.0, "maximum": 100.0, "integer": True
        }  # fmt: skip

        again = await ana.post("/api/v1/strategies/create", json={"name": "cross", "code": CROSS})
        assert again.status_code == 409
        assert (
            await bea.post("/api/v1/strategies/create", json={"name": "cross", "code": CROSS})
        ).status_code == 201
        assert (
            await vic.post("/api/v1/strategies/create", json={"name": "v", "code": CROSS})
        ).status_code == 403

        broken = await ana.post(
            "/api/v1/strategies/create",
            json={"name": "bad", "code": "x = 1\nlong_entry = rsii(close, 14) < 30\n"},
        )
        assert broken.status_code == 422
        (problem,) = broken.json()["problems"]
        assert (problem["line"], problem["column"], problem["suggestion"]) == (2, 14, "rsi")

        path = f"/api/v1/strategies/{created['id']}"
        changed = await ana.put(path, json={"code": CROSS.replace("stop_loss = 6", "stop_loss = 4")})
        assert changed.status_code == 200, changed.text
        assert changed.json()["version"] == 2
        assert (await ana.put(path, json={"code": "long_entry = (("})).status_code == 422
        assert (await bea.put(path, json={"description": "mine now"})).status_code == 403
        assert (await vic.delete(path)).status_code == 403
        versions = (await vic.get(f"{path}/versions")).json()
        assert [v["version"] for v in versions] == [2, 1]
        assert "stop_loss = 6" in versions[1]["code"]
        assert "stop_loss = 4" in versions[0]["code"]
        assert {s["name"] for s in (await vic.get("/api/v1/strategies/list")).json()} == {"cross"}

        checked = (await vic.post("/api/v1/strategies/check", json={"code": CROSS})).json()
        assert checked["ok"]
        assert checked["rules"] == ["long_entry", "short_entry", "stop_loss"]
        assert (await ana.delete(path)).status_code == 204
        assert (await ana.get(path)).status_code == 404


async def test_a_backtest_runs_as_a_job_and_matches_the_engine_run_directly(stored: Runtime, team):
    async with serve_app(stored) as address, app_client(stored, team["ana"]) as http:
        strategy = await _create(http, "cross", CROSS)
        async with socket(address, team["ana"]) as owner, socket(address, team["vic"]) as other:
            run = await _run(
                stored,
                http,
                "apply",
                {"strategy": "cross", "symbol": "STRA", "timeframe": "1d", "params": {"fast": 8},
                 "cash": 50_000, "commission": 0.001, "slippage": 0.0005},
            )  # fmt: skip
            events = [e for e in await received(owner, 1.0) if e["type"] == "strategy_applied"]
            assert [e["type"] for e in await received(other)] == []
    assert [(e["run_id"], e["status"], e["strategy_id"]) for e in events] == [
        (run["run_id"], "complete", strategy["id"])
    ]
    assert events[0]["metrics"] == run["metrics"]

    bars = await _bars(stored, "STRA")
    program = parse_program(CROSS)
    params = resolve_params(program, {"fast": 8})
    inputs = StrategyInputs(bars=bars, context=OwnContext(width="1d", session="extended"))
    direct = run_backtest(
        program, inputs, params, BacktestSettings(cash=50_000, commission=0.001, slippage=0.0005)
    )
    expected = trades_of(bars, direct.simulation)
    trades = run["trades"]
    assert isinstance(trades, list)
    assert len(trades) == len(expected) == run["trades_total"] > 3
    for got, want in zip(trades, expected, strict=True):
        assert (got["entry_bar"], got["exit_bar"], got["exit_reason"]) == (
            want.entry_bar,
            want.exit_bar,
            want.exit_reason,
        )
        assert got["size"] == pytest.approx(want.size)
        assert got["pnl"] == pytest.approx(want.pnl)
        assert got["entry_price"] == pytest.approx(
            bars.open[want.entry_bar] * (1.0005 if want.size > 0 else 0.9995)
        )
    assert run["metrics"] == pytest.approx(direct.metrics)
    assert run["params"] == {"fast": 8.0, "slow": 30.0}
    assert run["strategy_version"] == 1
    assert run["audit"]["uses_future_data"] is False
    pin = run["pin"]
    assert (pin["symbol"], pin["series"], pin["timeframe"], pin["bars"]) == ("STRA", "1d", "1d", len(bars))

    async with app_client(stored, team["vic"]) as viewer:
        listed = (await viewer.get("/api/v1/strategies/list")).json()
        assert listed[0]["performance_metrics"] == run["metrics"]
        assert listed[0]["last_run_id"] == run["run_id"]
        curve = (
            await viewer.get(f"/api/v1/strategies/runs/{run['run_id']}/equity", params={"points": 100})
        ).json()
        assert curve["total"] == len(bars)
        assert len(curve["points"]) <= 100
        last = curve["points"][-1]
        assert last[0] == int(bars.ts[-1])
        assert last[1] == pytest.approx(direct.simulation.equity[-1])
        assert min(p[2] for p in curve["points"]) == pytest.approx(run["metrics"]["max_drawdown_pct"])

        chart = await viewer.post(
            "/api/v1/stocks/chart-data",
            json={"symbol": "STRA", "timeframe": "1d", "run_id": run["run_id"], "max_points": 5000},
            headers={"Accept": "application/vnd.apache.arrow.stream"},
        )
        assert chart.status_code == 200, chart.text
        table = pa.ipc.open_stream(io.BytesIO(chart.content)).read_all()
        entry = table.column(f"trade:{run['run_id']}:entry").to_numpy(zero_copy_only=False)
        ts = table.column("ts").cast(pa.int64()).to_numpy()
        marked = {int(ts[i]): float(entry[i]) for i in np.flatnonzero(~np.isnan(entry))}
        assert marked == {int(bars.ts[t.entry_bar]): pytest.approx(t.size) for t in expected}
        elsewhere = await viewer.post(
            "/api/v1/stocks/chart-data", json={"symbol": "STRB", "run_id": run["run_id"]}
        )
        assert elsewhere.status_code == 422
        assert "traded STRA, not STRB" in elsewhere.text
        unknown = await viewer.post("/api/v1/stocks/chart-data", json={"symbol": "STRA", "run_id": "0" * 32})
        assert unknown.status_code == 404
        assert "no run 000" in unknown.text

    async with app_client(stored, team["ana"]) as http:
        again = await http.post(f"/api/v1/strategies/runs/{run['run_id']}/rerun")
        assert again.status_code == 202
        await drain_jobs(stored)
        rerun = (await http.get(again.json()["status_url"])).json()
        assert rerun["trades"] == run["trades"]
        assert rerun["pin"]["version"] == pin["version"]


async def test_the_audit_flags_a_strategy_that_reads_the_next_bar(stored: Runtime, team):
    async with app_client(stored, team["ana"]) as http:
        await _create(http, "peek", PEEK)
        run = await _run(stored, http, "apply", {"strategy": "peek", "symbol": "STRA", "timeframe": "1d"})
    audit = run["audit"]
    assert isinstance(audit, dict)
    assert audit["uses_future_data"] is True
    first_cut = audit["cut_points"][0]
    assert audit["first_offending_bar"] == first_cut - 1  # the prefix's last bar cannot see the bar after it
    assert audit["first_offending_time"] is not None
    assert run["metrics"]["total_return_pct"] > 50  # knowing tomorrow pays


async def test_sweeps_rank_every_combination_and_walk_forward_tests_out_of_sample(stored: Runtime, team):
    async with app_client(stored, team["ana"]) as http:
        await _create(http, "cross", CROSS)
        base = {"strategy": "cross", "symbol": "STRB", "timeframe": "1d"}
        grid = {"fast": [5, 10, 15], "slow": [20, 40]}
        swept = await _run(stored, http, "sweep", base | {"grid": grid, "metric": "total_return_pct"})
        rows = swept["sweep"]["rows"]
        assert len(rows) == 6
        assert swept["sweep"]["axes"] == {"fast": [5.0, 10.0, 15.0], "slow": [20.0, 40.0]}
        returns = [row["metrics"]["total_return_pct"] for row in rows]
        assert returns == sorted(returns, reverse=True)
        single = await _run(stored, http, "apply", base | {"params": rows[-1]["params"]})
        assert rows[-1]["metrics"] == pytest.approx(single["metrics"])

        walked = await _run(
            stored, http, "walk-forward", base | {"grid": grid, "folds": 3, "metric": "sharpe"}
        )
        result = walked["walk_forward"]
        assert isinstance(result, dict)
        assert len(result["folds"]) == 3
        for earlier, later in zip(result["folds"], result["folds"][1:], strict=False):
            assert earlier["out_of_sample_to"] < later["out_of_sample_from"]
        for fold in result["folds"]:
            assert fold["in_sample_to"] < fold["out_of_sample_from"]
            assert fold["params"]["fast"] in grid["fast"]
            assert fold["params"]["slow"] in grid["slow"]


async def test_bad_runs_are_refused_before_anything_is_queued(stored: Runtime, team):
    async with app_client(stored, team["ana"]) as http, app_client(stored, team["vic"]) as vic:
        await _create(http, "cross", CROSS)
        base = {"strategy": "cross", "symbol": "STRA", "timeframe": "1d"}
        cases = [
            (base | {"strategy": "nosuch"}, 404, "no strategy called 'nosuch'"),
            (base | {"strategy": 999999}, 404, "no strategy 999999"),
            (base | {"symbol": "NOPE"}, 404, "NOPE"),
            (base | {"params": {"fast": 1}}, 422, "fast"),
            (base | {"params": {"nosuch": 3}}, 422, "nosuch"),
            (base | {"cash": -5}, 422, "cash"),
            (base | {"mode": "vectorbt"}, 422, "mode"),
        ]
        for body, status, words in cases:
            answer = await http.post("/api/v1/strategies/apply", json=body)
            assert (answer.status_code, words in answer.text) == (status, True), (body, answer.text)
        sweep = await http.post("/api/v1/strategies/sweep", json=base | {"grid": {"nosuch": [1]}})
        assert sweep.status_code == 422
        assert "does not declare" in sweep.text
        huge = await http.post(
            "/api/v1/strategies/sweep",
            json=base | {"grid": {"fast": list(range(2, 102)), "slow": list(range(5, 205))}},
        )
        assert huge.status_code == 422
        assert "20,000 combinations" in huge.text
        assert (await vic.post("/api/v1/strategies/apply", json=base)).status_code == 403
        assert (await vic.get("/api/v1/strategies/runs/" + "0" * 32)).status_code == 404
    async with stored.stack.pool.connection() as conn:
        jobs = await (await conn.execute("SELECT count(*) FROM jobs WHERE kind = 'strategy_run'")).fetchone()
        runs = await (await conn.execute("SELECT count(*) FROM strategy_runs")).fetchone()
    assert jobs == (0,)
    assert runs == (0,)


async def test_a_screen_matches_a_per_symbol_loop(stored: Runtime, team):
    expression = "rsi(close, 14) > 50 and close > sma(close, 20)"
    expected = {}
    for symbol in SYMBOLS:
        bars = await _bars(stored, symbol)
        rsi = talib.RSI(bars.close, 14)
        sma = talib.SMA(bars.close, 20)
        if rsi[-1] > 50 and bars.close[-1] > sma[-1]:
            expected[symbol] = (rsi[-1], sma[-1], bars.close[-1])
    async with app_client(stored, team["vic"]) as vic:
        answer = await vic.post("/api/v1/screens", json={"expression": expression, "timeframe": "1d"})
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert result["screened"] == len(SYMBOLS)
        assert result["total"] == len(expected)
        got = {m["symbol"]: m["values"] for m in result["matches"]}
        assert set(got) == set(expected)
        for symbol, (rsi_value, sma_value, close) in expected.items():
            assert got[symbol]["rsi(close, 14)"] == pytest.approx(rsi_value, rel=1e-6)
            assert got[symbol]["sma(close, 20)"] == pytest.approx(sma_value, rel=1e-9)
            assert got[symbol]["close"] == pytest.approx(close)

        everything = await vic.post(
            "/api/v1/screens",
            json={"expression": "close > 0", "sort": "close", "descending": True, "limit": 2},
        )
        page = everything.json()
        closes = [m["values"]["close"] for m in page["matches"]]
        assert page["total"] == 3
        assert len(closes) == 2
        assert closes == sorted(closes, reverse=True)
        bad = await vic.post("/api/v1/screens", json={"expression": "rsi(close, 14) <"})
        assert bad.status_code == 422
        assert bad.json()["problems"][0]["column"] >= 17


async def test_a_cancelled_sweep_stops_and_says_so(stored: Runtime, team):
    async with app_client(stored, team["ana"]) as http:
        await _create(http, "cross", CROSS)
        body = {"strategy": "cross", "symbol": "STRA", "timeframe": "1d", "grid": {"fast": [5, 10, 15]}}
        queued = (await http.post("/api/v1/strategies/sweep", json=body)).json()
        assert (await http.post(f"/api/v1/jobs/{queued['job_id']}/cancel")).status_code == 202
        await drain_jobs(stored)
        run = (await http.get(queued["status_url"])).json()
        assert (run["status"], run["error"]) == ("failed", "the run's job was cancelled")

        # cancelled while it runs: it stops between two combinations, and the run says why
        running = (await http.post("/api/v1/strategies/sweep", json=body)).json()
        reports: list[tuple[int, int]] = []

        async def report(done: int, total: int) -> None:
            reports.append((done, total))

        stop = asyncio.Event()
        stop.set()
        with pytest.raises(RunCancelled, match="cancelled after 1 of 3"):
            await stored.services.strategy_runs.execute(running["run_id"], report, stop)
        run = (await http.get(running["status_url"])).json()
        assert (run["status"], run["error"]) == ("failed", "cancelled after 1 of 3")

        finished = (await http.post("/api/v1/strategies/sweep", json=body)).json()
        await stored.services.strategy_runs.execute(finished["run_id"], report, asyncio.Event())
        await asyncio.sleep(0.1)  # reports are scheduled on the loop from the sweep's thread
        assert reports[-1] == (3, 3)
