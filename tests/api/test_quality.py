"""Data quality over HTTP: the dataset list, the quality report with its gaps, re-assessing."""

from __future__ import annotations

import datetime as dt

import pytest

from api.auth.credentials import hash_password
from api.runtime import Runtime
from tests.conftest import app_client
from tests.data import store_minute_dataset
from tests.pipelines.quality.test_quality import bars_at, ny, session_minutes

DAY = dt.date(2024, 3, 5)
TABLE = "qa_1minute_2024-03-05_2024-03-05"


@pytest.fixture
async def stored(clean: Runtime) -> Runtime:
    """One regular session with two gaps: 09:45-09:50 (5 bars) and 15:00-15:01 (1 bar)."""
    minutes = session_minutes(DAY)
    missing = {*minutes[15:20], minutes[330]}
    await store_minute_dataset(
        clean.services, TABLE, "QA", bars_at([t for t in minutes if t not in missing]), DAY, DAY
    )
    return clean


async def test_tables_show_quality_once_assessed(client, stored):
    (before,) = (await client.get("/api/v1/stocks/tables")).json()
    assert before["quality"] is None

    answer = await client.post(f"/api/v1/stocks/table/{TABLE}/quality")
    assert answer.status_code == 200, answer.text
    assessed = answer.json()
    assert (assessed["expected"], assessed["present"], assessed["gaps"], assessed["missing"]) == (
        390,
        384,
        2,
        6,
    )

    (listed,) = (await client.get("/api/v1/stocks/tables")).json()
    quality = listed["quality"]
    assert quality == assessed
    assert quality["basis"] == "regular_session"
    assert quality["coverage"] == pytest.approx(384 / 390)
    assert quality["largest_gaps"][0] == {
        "start": "2024-03-05T14:45:00Z",
        "end": "2024-03-05T14:50:00Z",
        "missing": 5,
    }
    assert quality["ohlc"] == {
        "high_below_body": 0,
        "low_above_body": 0,
        "high_below_low": 0,
        "non_positive": 0,
    }


async def test_quality_report_assesses_on_demand_and_filters_gaps(client, stored):
    answer = await client.get(f"/api/v1/stocks/table/{TABLE}/quality")
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["table"] == TABLE
    assert report["quality"]["gaps"] == 2
    assert [(g["start"], g["missing"]) for g in report["gaps"]] == [
        ("2024-03-05T14:45:00Z", 5),
        ("2024-03-05T20:00:00Z", 1),
    ]
    assert report["truncated"] is False

    afternoon = ny(DAY, 12, 0).isoformat()
    window = (await client.get(f"/api/v1/stocks/table/{TABLE}/quality", params={"from": afternoon})).json()
    assert [g["missing"] for g in window["gaps"]] == [1]
    first = (await client.get(f"/api/v1/stocks/table/{TABLE}/quality", params={"limit": 1})).json()
    assert (len(first["gaps"]), first["truncated"]) == (1, True)


async def test_quality_errors_are_problems(client, stored):
    missing = await client.get("/api/v1/stocks/table/no_such_table/quality")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    bad = await client.get(f"/api/v1/stocks/table/{TABLE}/quality", params={"from": "yesterday"})
    assert bad.status_code in (400, 422), bad.text
    assert bad.headers["content-type"] == "application/problem+json"
    assert (await client.post("/api/v1/stocks/table/no_such_table/quality")).status_code == 404


async def test_viewers_read_quality_and_analysts_reassess(stored):
    auth = stored.auth
    keys = {}
    for role in ("viewer", "analyst"):
        name = f"quality-{role}"
        if await auth.users.by_name(name) is None:
            await auth.users.create(name, hash_password("correct horse battery"), role)
        keys[role] = (await auth.create_key(name, "test", None, None)).key
    async with app_client(stored, keys["viewer"]) as viewer:
        assert (await viewer.get(f"/api/v1/stocks/table/{TABLE}/quality")).status_code == 200
        assert (await viewer.post(f"/api/v1/stocks/table/{TABLE}/quality")).status_code == 403
    async with app_client(stored, keys["analyst"]) as analyst:
        assert (await analyst.post(f"/api/v1/stocks/table/{TABLE}/quality")).status_code == 200
    async with app_client(stored) as anonymous:
        assert (await anonymous.get(f"/api/v1/stocks/table/{TABLE}/quality")).status_code == 401
