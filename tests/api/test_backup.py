"""``k2q backup`` through a running ``k2q up``, ``k2q restore`` into an empty data dir: nothing lost."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.stack import start_embedded_postgres, stop_embedded_postgres
from tests.process import free_port, k2q_env, one_line_error, run_k2q, running_up
from warehouse.catalog.pool import MIGRATIONS_DIR

pytestmark = pytest.mark.slow

PASSWORD = "a long password for ana"
NO_DEMO = {"K2Q_SEED_DEMO": "0"}


def tree(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def contents(http: httpx.Client) -> dict[str, Any]:
    """What users see of the stores: datasets, users, strategies, and every dataset's bars as CSV."""
    # A download marks its dataset accessed: compare what the restore cannot have changed.
    datasets = [
        {k: v for k, v in d.items() if k != "last_accessed"} for d in http.get("/api/v1/stocks/tables").json()
    ]
    bars = {
        dataset["table"]: http.get(f"/api/v1/stocks/data/{dataset['table']}", params={"format": "csv"}).text
        for dataset in datasets
    }
    return {
        "datasets": datasets,
        "bars": bars,
        "users": http.get("/api/v1/admin/users").json(),
        "strategies": http.get("/api/v1/strategies/list").json(),
    }


def fetch(http: httpx.Client, symbols: list[str]) -> None:
    """Daily synthetic bars of ``symbols`` for 2023, through the server's fetch job."""
    body = {
        "symbols": symbols,
        "timespan": "day",
        "from": "2023-01-01",
        "to": "2023-12-31",
        "source": "synthetic",
    }
    accepted = http.post("/api/v1/stocks/fetch", json=body)
    assert accepted.status_code == 202, accepted.text
    deadline = time.monotonic() + 60
    while (status := http.get(accepted.json()["status_url"]).json())["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, status
        time.sleep(0.2)
    assert status["state"] == "complete", status


def digests(manifest: dict[str, Any], part: str) -> dict[str, tuple[int, str]]:
    return {digest["table"]: (digest["rows"], digest["checksum"]) for digest in manifest[part]}


def test_backup_while_up_then_restore_into_an_empty_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    backup = tmp_path / "backup"
    with (
        running_up(data_dir, **NO_DEMO) as server,
        httpx.Client(base_url=server.url, headers=server.headers()) as http,
    ):
        fetch(http, ["EXA", "EXB"])
        made = http.post(
            "/api/v1/admin/users", json={"username": "ana", "password": PASSWORD, "role": "analyst"}
        )
        assert made.status_code == 201, made.text
        key = http.post("/api/v1/admin/api-keys", json={"username": "ana", "name": "notebook"})
        assert key.status_code == 201, key.text
        ana_key = key.json()["key"]
        strategy = {"name": "cross", "code": "long_entry = crossover(sma(close, 5), sma(close, 20))\n"}
        created = http.post("/api/v1/strategies/create", json=strategy)
        assert created.status_code == 201, created.text
        original = contents(http)
        assert len(original["datasets"]) == 2
        bar_count = sum(dataset["total_records"] for dataset in original["datasets"])
        assert bar_count > 400

        taken = tmp_path / "taken"
        taken.mkdir()
        (taken / "keep.txt").write_text("mine")
        refused = run_k2q("backup", str(taken), env=server.env)
        assert "exists and is not an empty directory" in one_line_error(refused)
        assert tree(taken) == {"keep.txt": b"mine"}
        relative = http.post("/api/v1/admin/backup", json={"path": "relative/dir"})
        assert relative.status_code == 400
        assert "absolute" in relative.json()["detail"]
        as_ana = http.post(
            "/api/v1/admin/backup",
            json={"path": str(tmp_path / "x")},
            headers={"Authorization": f"Bearer {ana_key}"},
        )
        assert as_ana.status_code == 403
        assert not (tmp_path / "x").exists()

        done = run_k2q("backup", str(backup), env=server.env)
        assert done.returncode == 0, done.stderr
        assert f"{bar_count:,} bars, 2 datasets" in done.stdout.replace("\n", " ")
        busy = run_k2q("restore", str(backup), env=server.env)
        assert "stop it before restoring" in one_line_error(busy)

    manifest = json.loads((backup / "manifest.json").read_text())
    assert {path.name for path in backup.iterdir()} == {
        "manifest.json",
        "clickhouse",
        "catalog.dump",
        "secret.key",
    }
    assert (backup / "secret.key").stat().st_mode & 0o777 == 0o600
    assert (backup / "secret.key").read_bytes() == (data_dir / "secret.key").read_bytes()
    bars = digests(manifest, "clickhouse")
    catalog = digests(manifest, "catalog")
    assert bars["bars"][0] == bar_count
    assert catalog["datasets"][0] == 2
    assert catalog["strategies"][0] == 1
    assert catalog["users"][0] == len(original["users"]) >= 2  # the admin and ana
    assert manifest["migration"] == sorted(path.stem for path in MIGRATIONS_DIR.glob("*.sql"))[-1]

    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    refused = run_k2q("restore", str(backup), env=k2q_env(occupied, free_port()))
    assert "is not empty" in one_line_error(refused)
    assert tree(occupied) == {"notes.txt": b"mine"}

    restored_dir = tmp_path / "restored"
    restored = run_k2q("restore", str(backup), env=k2q_env(restored_dir, free_port()))
    assert restored.returncode == 0, restored.stderr
    assert "every row count and checksum matches" in restored.stdout.replace("\n", " ")
    assert (restored_dir / "secret.key").read_bytes() == (data_dir / "secret.key").read_bytes()

    with (
        running_up(restored_dir, **NO_DEMO) as server,
        httpx.Client(base_url=server.url, headers=server.headers()) as http,
    ):
        assert contents(http) == original
        ana = httpx.get(f"{server.url}/api/v1/auth/me", headers={"Authorization": f"Bearer {ana_key}"})
        assert ana.status_code == 200, ana.text
        assert ana.json()["username"] == "ana"
        signed_in = httpx.post(
            f"{server.url}/api/v1/auth/login", json={"username": "ana", "password": PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
    # Backed up in turn (no server now: in this process), the restored stores hold the same rows.
    again = run_k2q("backup", str(tmp_path / "again"), env=k2q_env(restored_dir, free_port()))
    assert again.returncode == 0, again.stderr
    second = json.loads((tmp_path / "again" / "manifest.json").read_text())
    for table in ("bars", "indicator_values", "projection_values"):
        assert digests(second, "clickhouse")[table] == bars[table], table
    for table in ("users", "strategies"):
        assert digests(second, "catalog")[table] == catalog[table], table
    assert digests(second, "catalog")["datasets"][0] == 2  # their last access moved: each was downloaded

    # Into a Postgres server (DATABASE_URL): the catalog goes there; a second restore into it is refused
    # before anything is written.
    postgres = start_embedded_postgres(tmp_path / "catalog-server")
    try:
        url = postgres.get_uri()
        moved = run_k2q(
            "restore", str(backup), env=k2q_env(tmp_path / "moved", free_port(), DATABASE_URL=url)
        )
        assert moved.returncode == 0, moved.stderr
        assert not (tmp_path / "moved" / "postgres").exists()
        twice = tmp_path / "twice"
        again = run_k2q("restore", str(backup), env=k2q_env(twice, free_port(), DATABASE_URL=url))
        assert "the catalog database is not empty" in one_line_error(again)
        assert list(twice.iterdir()) == []
    finally:
        stop_embedded_postgres(postgres)


COPY_INTO_ANOTHER_DATABASE = """
import sys
from pathlib import Path
import clickhouse_connect
from warehouse.clickhouse.backup import backup_database, backup_digests, copy_tables, staging_dir
from warehouse.clickhouse.backup import table_digests
from warehouse.clickhouse.client import connect_clickhouse
from warehouse.clickhouse.ddl import ALL_DDL

source = connect_clickhouse(None, Path(sys.argv[1])).client
for statement in ALL_DDL:
    source.command(statement)
COLUMNS = "symbol, timespan, adjusted, ts, open, high, low, close, volume, vwap, transactions, source"
source.command(
    f"INSERT INTO bars ({COLUMNS}) SELECT if(number % 2 = 0, 'EXA', 'EXB'), '1d', true,"
    " toDateTime64('2020-01-01', 3, 'UTC') + number * 86400, 10 + number, 11 + number, 9 + number,"
    " 10.5 + number, number * 100, if(number % 3 = 0, NULL, 10.2),"
    " if(number % 5 = 0, NULL, toUInt32(number)), 'synthetic' FROM numbers(5000)"
)
# a bar stored twice: the newer copy replaces the first
source.command(
    f"INSERT INTO bars ({COLUMNS})"
    " VALUES ('EXA', '1d', true, '2020-01-01 00:00:00', 1, 1, 1, 1, 1, NULL, NULL, 'synthetic')"
)
source.command("CREATE DATABASE server")
engine = Path(sys.argv[1]) / "clickhouse"
server = clickhouse_connect.get_client(dsn=f"chdb://{engine}", database="server")
server.command(ALL_DDL[0])  # one table made already (as the application makes it), the others by the copy
copy_tables(source, server)
rows = [digest.rows for digest in table_digests(server) if digest.table == "bars"]
print(table_digests(source) == table_digests(server), rows)

# A backup's own figures, for one taken while a write landed: the write is not in them.
backed_up = table_digests(source)
written = staging_dir(Path(sys.argv[1])) / "b"
backup_database(source, written)
source.command(
    f"INSERT INTO bars ({COLUMNS})"
    " VALUES ('EXC', '1d', true, '2020-01-01', 1, 1, 1, 1, 1, NULL, NULL, 'synthetic')"
)
print(backup_digests(source, written, "default") == backed_up != table_digests(source))
print(source.command("SELECT count() FROM system.databases WHERE startsWith(name, 'k2q_backup_check_')"))
"""


def test_bar_store_copies_and_backup_figures_are_exact(tmp_path: Path) -> None:
    # No ClickHouse server here: another database of the same engine stands in for it (the copy uses the
    # client connection only, as it does to a server).
    done = subprocess.run(
        [sys.executable, "-c", COPY_INTO_ANOTHER_DATABASE, str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "[5000]", "True", "0"]
