"""Chart slices: auto timeframe, sessions, ETags and the shared cache."""

from __future__ import annotations

import httpx
import pyarrow as pa

from schemas.values import TIMEFRAMES
from tests.api.test_stocks import fetch

MINUTES = {
    "symbols": ["SLC"],
    "timespan": "minute",
    "from": "2024-03-04",
    "to": "2024-03-15",
    "source": "synthetic",
}


async def chart(client: httpx.AsyncClient, **body: object) -> tuple[httpx.Response, pa.Table]:
    answer = await client.post("/api/v1/stocks/chart-data", json={"symbol": "SLC", **body})
    assert answer.status_code == 200, answer.text
    return answer, pa.ipc.open_stream(answer.content).read_all()


async def test_auto_timeframe_picks_the_finest_standard_one_that_fits(client, clean):
    await fetch(client, clean, MINUTES)
    answer, table = await chart(client, max_points=500)
    picked = answer.headers["x-k2q-timeframe"]
    assert picked == answer.headers["x-k2q-bucket"]
    assert table.schema.metadata[b"k2q.timeframe"] == picked.encode()
    assert 0 < table.num_rows <= 500
    finer = TIMEFRAMES[[str(tf) for tf in TIMEFRAMES].index(picked) - 1]
    _, too_many = await chart(client, timeframe=finer, max_points=50_000)
    assert too_many.num_rows > 500
    one_day, table = await chart(client, **{"from": "2024-03-05", "to": "2024-03-05"})
    assert one_day.headers["x-k2q-timeframe"] == "1m"
    explicit, _ = await chart(client, timeframe="1h", max_points=5000)
    assert explicit.headers["x-k2q-bucket"] == "1h"


async def test_regular_session_drops_extended_hours(client, clean):
    await fetch(client, clean, MINUTES)
    day = {"from": "2024-03-05", "to": "2024-03-05", "timeframe": "1m", "max_points": 5000}
    _, extended = await chart(client, **day)
    answer, regular = await chart(client, session="regular", **day)
    assert answer.headers["x-k2q-session"] == "regular"
    minutes = [(t.hour * 60 + t.minute) for t in regular.column("ts").to_pylist()]
    assert regular.num_rows == 390  # 09:30–16:00 New York = 14:30–21:00 UTC before DST
    assert min(minutes) == 14 * 60 + 30
    assert max(minutes) == 20 * 60 + 59
    assert extended.num_rows > regular.num_rows


async def test_etag_changes_when_bars_change_and_only_then(client, clean):
    await fetch(client, clean, MINUTES)
    first, _ = await chart(client, timeframe="1h")
    etag = first.headers["etag"]
    assert first.headers["x-k2q-cache"] == "miss"
    again, _ = await chart(client, timeframe="1h")
    assert again.headers["etag"] == etag
    assert again.headers["x-k2q-cache"] == "hit"
    assert again.content == first.content
    revalidated = await client.post(
        "/api/v1/stocks/chart-data",
        json={"symbol": "SLC", "timeframe": "1h"},
        headers={"If-None-Match": etag},
    )
    assert revalidated.status_code == 304
    other, _ = await chart(client, timeframe="4h")
    assert other.headers["etag"] != etag

    await fetch(client, clean, {**MINUTES, "from": "2024-03-18", "to": "2024-03-19"})  # new bars
    changed, _ = await chart(client, timeframe="1h")
    assert changed.headers["etag"] != etag
    assert changed.headers["x-k2q-cache"] == "miss"
    stale = await client.post(
        "/api/v1/stocks/chart-data",
        json={"symbol": "SLC", "timeframe": "1h"},
        headers={"If-None-Match": etag},
    )
    assert stale.status_code == 200


async def test_series_that_are_not_stored_yet_are_refused(client, clean):
    await fetch(client, clean, MINUTES)
    for extra in ({"indicators": ["sma(close,20)"]}, {"projections": ["gbm"]}, {"run_id": "r1"}):
        answer = await client.post("/api/v1/stocks/chart-data", json={"symbol": "SLC", **extra})
        assert answer.status_code == 422
