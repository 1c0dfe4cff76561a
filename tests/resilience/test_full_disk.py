"""A full disk under the data directory: an import is refused in words, nothing is half-written, reads go on.

``k2q up`` runs with its whole data directory (bar store, catalog, Redis) on a small tmpfs of its
own, which a file then fills up but for a few hundred KiB. Imports (over HTTP and with ``k2q
import``) of more bars than fit are answered 507 / a non-zero exit with the reason; no dataset,
bar or temporary file is left of them, the stored bars are unchanged and charts keep being served.
Once space is freed the same import succeeds, storing each bar once.
"""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
from pathlib import Path

import httpx
import polars as pl

from api.deadline import REQUEST_DEADLINE_S
from pipelines.ingest.sources.synthetic import generate_bars
from schemas.bars import SeriesKey
from tests.process import run_k2q, running_up
from tests.resilience.full_disk_helpers import fill, free_bytes, leftovers, small_filesystem

SIZE_MB = 160
"""Room for the embedded stores and the demo data (about 50 MiB) with room to spare before the fill."""
SLACK = 256 * 1024
"""What the fill leaves free: less than the import's bars need, enough for the catalog's small writes."""
SYMBOL = "FULL"
START, END = dt.date(2024, 2, 1), dt.date(2024, 2, 29)
QUERY = {"symbol": SYMBOL, "timespan": "minute"}
TEMPORARY = ("tmp_", "k2q-import-", "delete_tmp_")
"""Names of what an interrupted insert or upload leaves behind (ClickHouse's and ours)."""


def bars_csv(path: Path) -> int:
    """Write a month of a symbol's minute bars as CSV to ``path``; return how many bars."""
    bars = generate_bars(SeriesKey(symbol=SYMBOL, multiplier=1, timespan="minute"), START, END)
    frame = pl.from_arrow(bars)
    assert isinstance(frame, pl.DataFrame)
    buffer = io.BytesIO()
    frame.write_csv(buffer)
    path.write_bytes(buffer.getvalue())
    return bars.num_rows


def stored_rows(data_dir: Path, symbol: str) -> int:
    """Rows of ``symbol`` in the bar store of ``data_dir``, every copy counted (the server is stopped)."""
    script = (
        "import sys, clickhouse_connect;"
        "c = clickhouse_connect.get_client(dsn='chdb://' + sys.argv[1]);"
        "print(c.command('SELECT count() FROM bars WHERE symbol = {s:String}',"
        " parameters={'s': sys.argv[2]}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(data_dir / "clickhouse"), symbol],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return int(done.stdout.strip().splitlines()[-1])


def datasets(http: httpx.Client) -> list[tuple[str, int, str, str, str]]:
    """Each dataset's name, bar count, first and last bar and last change (not when it was last read)."""
    answer = http.get("/api/v1/stocks/tables")
    assert answer.status_code == 200, answer.text
    return [
        (t["table"], t["total_records"], t["first_bar"], t["last_bar"], t["updated_at"])
        for t in answer.json()
    ]


def test_a_full_data_disk_refuses_an_import_in_words_and_keeps_serving(tmp_path: Path) -> None:
    upload_dir = tmp_path / "uploads"  # the server's TMPDIR, on the machine's disk: the data disk is full
    upload_dir.mkdir()
    csv = tmp_path / "full.csv"
    expected = bars_csv(csv)
    with small_filesystem(tmp_path / "disk", SIZE_MB) as disk:
        data_dir = disk / "data"
        with (
            running_up(data_dir, TMPDIR=str(upload_dir)) as k2q,
            httpx.Client(base_url=k2q.url, headers=k2q.headers(), timeout=REQUEST_DEADLINE_S) as http,
        ):
            tables = datasets(http)
            demo = tables[0][0]
            page = http.get(f"/api/v1/stocks/data/{demo}", params={"limit": 2_000}).json()
            chart = {"table": demo, "max_points": 500}
            assert http.post("/api/v1/stocks/chart-data", json=chart).status_code == 200

            filler = fill(disk, SLACK)
            assert free_bytes(disk) <= 2 * SLACK

            refused = http.post(
                "/api/v1/stocks/import",
                params=QUERY,
                content=csv.read_bytes(),
                headers={"Content-Type": "text/csv"},
            )
            assert refused.status_code == 507, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            assert "disk is full" in refused.json()["detail"]
            cli = run_k2q("import", str(csv), "--symbol", SYMBOL, "--timespan", "minute", env=k2q.env)
            assert cli.returncode != 0
            assert "disk is full" in cli.stderr

            # Nothing half-written: no dataset, no temporary files; the stored bars and charts as before.
            assert datasets(http) == tables
            assert leftovers(upload_dir, TEMPORARY) == []
            assert leftovers(data_dir / "clickhouse", TEMPORARY) == []
            assert http.get(f"/api/v1/stocks/data/{demo}", params={"limit": 2_000}).json() == page
            assert http.post("/api/v1/stocks/chart-data", json=chart | {"max_points": 499}).status_code == 200
            assert http.get("/ready").status_code == 200

            filler.unlink()
            done = http.post(
                "/api/v1/stocks/import",
                params=QUERY,
                content=csv.read_bytes(),
                headers={"Content-Type": "text/csv"},
            )
            assert done.status_code == 201, done.text
            assert done.json()["dataset"]["total_records"] == expected
        assert stored_rows(data_dir, SYMBOL) == expected  # every copy counted: the refused tries left none
