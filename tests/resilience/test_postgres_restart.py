"""Postgres restarted under a running ``k2q up``: 503 with ``Retry-After`` meanwhile, then recovery.

The catalog's embedded Postgres is stopped with ``pg_ctl`` (a fast shutdown cuts every session the
server's pool holds) and started again on the same socket, while the same ``k2q up`` keeps running.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from api.deadline import REQUEST_DEADLINE_S
from tests.process import running_up
from tests.resilience.postgres_restart_helpers import start_postgres, stop_postgres

RECOVERY_S = 30.0
"""How long the pool may take to serve again once Postgres is back (it reconnects within a second or two)."""
STRATEGY = "long_entry = close > sma(close, 20)\n"


def assert_catalog_unavailable(answer: httpx.Response, data_dir: Path) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert int(answer.headers["retry-after"]) > 0
    problem = answer.json()
    assert problem["status"] == 503
    assert "catalog (Postgres) is unavailable" in problem["detail"]
    assert str(data_dir) not in answer.text  # the socket's path (in psycopg's message) stays in the log


def test_postgres_restart_answers_503_meanwhile_and_the_same_process_recovers(tmp_path: Path) -> None:
    with (
        running_up(tmp_path / "data") as k2q,
        httpx.Client(base_url=k2q.url, timeout=REQUEST_DEADLINE_S) as http,
    ):
        admin = k2q.headers()
        before = http.get("/api/v1/stocks/tables", headers=admin)
        assert before.status_code == 200, before.text
        tables = before.json()
        assert tables, "k2q up seeds its demo datasets"

        socket_dir = stop_postgres(k2q.data_dir)
        try:
            # Sent together: each waits for a connection the pool cannot make (its checks drop the
            # ones the shutdown cut) and answers 503 within the request's deadline.
            with ThreadPoolExecutor(max_workers=3) as threads:
                listing = threads.submit(http.get, "/api/v1/stocks/tables", headers=admin)
                body = {"name": "during outage", "code": STRATEGY}
                writing = threads.submit(http.post, "/api/v1/strategies/create", headers=admin, json=body)
                readiness = threads.submit(http.get, "/ready")
                assert_catalog_unavailable(listing.result(), k2q.data_dir)
                assert_catalog_unavailable(writing.result(), k2q.data_dir)
                ready = readiness.result()
            assert ready.status_code == 503
            assert ready.json()["ok"] is False
            # Liveness needs no store: the process is alive and says so.
            assert http.get("/health").status_code == 200
            assert k2q.process.poll() is None
        finally:
            start_postgres(k2q.data_dir, socket_dir)

        deadline = time.monotonic() + RECOVERY_S
        while http.get("/ready").status_code != 200:
            assert time.monotonic() < deadline, "/ready did not recover after Postgres came back"
            time.sleep(0.2)
        after = http.get("/api/v1/stocks/tables", headers=admin)
        assert after.status_code == 200, after.text
        assert after.json() == tables
        # Writes reach the catalog again too.
        created = http.post(
            "/api/v1/strategies/create", headers=admin, json={"name": "after restart", "code": STRATEGY}
        )
        assert created.status_code in (200, 201), created.text
        names = [item["name"] for item in http.get("/api/v1/strategies/list", headers=admin).json()]
        assert "after restart" in names
        assert "during outage" not in names
        assert k2q.process.poll() is None  # the same process throughout
