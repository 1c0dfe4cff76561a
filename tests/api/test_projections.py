"""Projections over HTTP: jobs, stored paths, rows past the last bar, scoring, evaluation, deletion, 4xx."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pytest

from api.runtime import Runtime
from pipelines.indicators.specs import BucketSeries
from pipelines.projections.calendar import future_buckets
from pipelines.projections.methods import project, resolve
from schemas.bars import SeriesKey
from tests.conftest import app_client, drain_jobs

FETCH = {
    "symbols": ["PRJ"],
    "timespan": "day",
    "from": "2023-01-02",
    "to": "2023-06-30",
    "source": "synthetic",
}
LATER = FETCH | {"from": "2023-07-01", "to": "2023-08-31"}
ARROW = {"Accept": "application/vnd.apache.arrow.stream"}


async def _closes(runtime: Runtime) -> BucketSeries:
    ref = SeriesKey.of(symbol="PRJ", series="1d", adjusted=True)
    return BucketSeries.of(await runtime.services.bars.bucket_series(ref, "1d"))


async def test_a_projection_is_stored_drawn_past_the_last_bar_and_scored_once_bars_arrive(
    clean: Runtime, team
):
    async with app_client(clean, team["ana"]) as ana, app_client(clean, team["vic"]) as vic:
        assert (await ana.post("/api/v1/stocks/fetch", json=FETCH)).status_code == 202
        await drain_jobs(clean)
        body = {
            "symbol": "PRJ",
            "timeframe": "1d",
            "method": "linreg",
            "horizon": 10,
            "params": {"window": 60},
        }
        accepted = await ana.post("/api/v1/projections", json=body)
        assert accepted.status_code == 202, accepted.text
        projection_id = accepted.json()["projection_id"]
        assert (await vic.post("/api/v1/projections", json=body)).status_code == 403
        await drain_jobs(clean)

        series = await _closes(clean)
        expected = project("linreg", series.close, 10, resolve("linreg", {"window": 60}))
        steps = future_buckets(int(series.ts[-1]), "1d", 10)
        (listed,) = (await vic.get("/api/v1/projections", params={"symbol": "prj", "timeframe": "1d"})).json()
        assert (listed["id"], listed["status"], listed["method"], listed["horizon"]) == (
            projection_id,
            "complete",
            "linreg",
            10,
        )
        assert listed["params"] == {"window": 60.0, "k": 2.0}
        assert (listed["first_ts"], listed["last_ts"], listed["score"]) == (
            int(steps[0]),
            int(steps[-1]),
            None,
        )

        chart = await vic.post(
            "/api/v1/stocks/chart-data",
            json={"symbol": "PRJ", "timeframe": "1d", "projections": [projection_id], "max_points": 5000},
            headers=ARROW,
        )
        assert chart.status_code == 200, chart.text
        table = pa.ipc.open_stream(io.BytesIO(chart.content)).read_all()
        assert table.num_rows == len(series) + 10
        future = table.slice(len(series))
        assert future.column("ts").cast(pa.int64()).to_pylist() == steps.tolist()
        assert future.column("close").null_count == 10
        assert future.column("open").null_count == 10
        np.testing.assert_allclose(future.column(f"proj:{projection_id}:median").to_numpy(), expected.median)
        np.testing.assert_allclose(future.column(f"proj:{projection_id}:upper").to_numpy(), expected.upper)
        as_json = await vic.post(
            "/api/v1/stocks/chart-data",
            json={"symbol": "PRJ", "timeframe": "1d", "projections": [projection_id]},
            headers={"Accept": "application/json"},
        )
        assert as_json.json()["bars"][-1]["close"] is None

        # real bars reach past the horizon: the projection is scored against them
        assert (await ana.post("/api/v1/stocks/fetch", json=LATER)).status_code == 202
        await drain_jobs(clean)
        score = (await vic.get(f"/api/v1/projections/{projection_id}")).json()["score"]
        real = await _closes(clean)
        at = np.searchsorted(real.ts, steps)
        actual = real.close[at]
        assert score["bars"] == 10
        assert score["mae"] == pytest.approx(np.mean(np.abs(expected.median - actual)))
        inside = (actual >= expected.lower) & (actual <= expected.upper)
        assert score["inside_pct"] == pytest.approx(inside.mean() * 100)
        assert score["level"] == pytest.approx(95.45, abs=0.01)
        last_seen = series.close[-1]
        assert score["direction_hit"] == (
            np.sign(expected.median[-1] - last_seen) == np.sign(actual[-1] - last_seen)
        )

        # on the chart now, the forecast sits on the realised bars: no rows past the last bar
        chart = await vic.post(
            "/api/v1/stocks/chart-data",
            json={"symbol": "PRJ", "timeframe": "1d", "projections": [projection_id], "max_points": 5000},
            headers=ARROW,
        )
        table = pa.ipc.open_stream(io.BytesIO(chart.content)).read_all()
        assert table.num_rows == len(real)
        median = table.column(f"proj:{projection_id}:median").to_numpy(zero_copy_only=False)
        np.testing.assert_allclose(median[at], expected.median)

        async with app_client(clean, team["bea"]) as bea:
            assert (await bea.delete(f"/api/v1/projections/{projection_id}")).status_code == 403
        assert (await ana.delete(f"/api/v1/projections/{projection_id}")).status_code == 204
        assert (await vic.get(f"/api/v1/projections/{projection_id}")).status_code == 404
        gone = await vic.post(
            "/api/v1/stocks/chart-data", json={"symbol": "PRJ", "projections": [projection_id]}
        )
        assert gone.status_code == 404
        left = await clean.stack.clickhouse.run(
            lambda c: c.query("SELECT count() FROM projection_values").result_rows
        )
        assert left == [(0,)]


async def test_an_evaluation_ranks_methods_against_the_random_walk(clean: Runtime, team):
    async with app_client(clean, team["ana"]) as ana:
        assert (await ana.post("/api/v1/stocks/fetch", json=FETCH)).status_code == 202
        await drain_jobs(clean)
        body = {
            "symbol": "PRJ", "timeframe": "1d", "methods": ["linreg", "gbm"], "horizon": 5, "cuts": 4,
            "params": {"linreg": {"window": 30}, "gbm": {"window": 30, "seed": 3}, "naive": {"window": 20}},
        }  # fmt: skip
        accepted = await ana.post("/api/v1/projections/evaluate", json=body)
        assert accepted.status_code == 202, accepted.text
        await drain_jobs(clean)
        evaluation = (await ana.get(accepted.json()["status_url"])).json()
        assert evaluation["status"] == "complete", evaluation
        rows = {row["method"]: row for row in evaluation["rows"]}
        assert set(rows) == {"linreg", "gbm"}
        assert all(row["cuts_scored"] == 4 for row in rows.values())
        maes = [row["mae"] for row in evaluation["rows"]]
        assert maes == sorted(maes)
        # by hand: each method's MAE over the cut points, from the widest window to the last full horizon
        closes = (await _closes(clean)).close
        cuts = sorted({round(c) for c in np.linspace(30, len(closes) - 5, 4)})

        def mae(method: str, params: dict[str, float]) -> float:
            resolved = resolve(method, params)
            paths = [project(method, closes[:c], 5, resolved).median for c in cuts]
            return float(
                np.mean([np.mean(np.abs(p - closes[c : c + 5])) for p, c in zip(paths, cuts, strict=True)])
            )

        assert rows["linreg"]["mae"] == pytest.approx(mae("linreg", {"window": 30}))
        naive = mae("naive", {"window": 20})
        assert rows["gbm"]["skill"] == pytest.approx(1 - mae("gbm", {"window": 30, "seed": 3}) / naive)
        board = (
            await ana.get("/api/v1/projections/leaderboard", params={"symbol": "PRJ", "timeframe": "1d"})
        ).json()
        assert board["id"] == evaluation["id"]
        none_yet = await ana.get(
            "/api/v1/projections/leaderboard", params={"symbol": "PRJ", "timeframe": "1w"}
        )
        assert (none_yet.status_code, none_yet.json()) == (200, None)


async def test_bad_projections_are_refused_before_anything_is_queued(clean: Runtime, team):
    async with app_client(clean, team["ana"]) as ana:
        assert (await ana.post("/api/v1/stocks/fetch", json=FETCH)).status_code == 202
        await drain_jobs(clean)
        base = {"symbol": "PRJ", "timeframe": "1d", "method": "gbm", "horizon": 5}
        cases = [
            (base | {"method": "prophet"}, 422, "method"),
            (base | {"horizon": 1001}, 422, "horizon"),
            (
                base | {"params": {"paths": 5}},
                422,
                "gbm's paths must be a whole number from 10 to 20000, not 5",
            ),
            (base | {"params": {"k": 2}}, 422, "gbm has no parameter k"),
            (base | {"symbol": "NOPE"}, 404, "NOPE"),
        ]
        for body, status, words in cases:
            answer = await ana.post("/api/v1/projections", json=body)
            assert (answer.status_code, words in answer.text) == (status, True), (body, answer.text)
        # too short for the window: the job fails in words, nothing is stored
        accepted = (await ana.post("/api/v1/projections", json=base | {"params": {"window": 5000}})).json()
        await drain_jobs(clean)
        failed = (await ana.get(f"/api/v1/projections/{accepted['projection_id']}")).json()
        assert failed["status"] == "failed"
        assert "gbm fits on 5,000 bars (its window) and the series has" in failed["error"]
        bad_chart = await ana.post(
            "/api/v1/stocks/chart-data", json={"symbol": "PRJ", "projections": ["gbm"]}
        )
        assert bad_chart.status_code == 422
    async with clean.stack.pool.connection() as conn:
        count = await (await conn.execute("SELECT count(*) FROM projections")).fetchone()
    assert count == (1,)
