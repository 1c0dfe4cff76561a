"""``k2q`` as a user runs it: real processes, real ports, real embedded stores."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess

import duckdb
import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.loopback.polygon import PolygonLoopback
from tests.process import (
    K2Q,
    alive,
    free_port,
    k2q_env,
    one_line_error,
    postgres_servers,
    run_k2q,
    running_up,
    start_up,
    store_pids,
)
from warehouse.catalog.pool import MIGRATIONS_DIR

pytestmark = pytest.mark.slow


def test_up_serves_refuses_a_second_up_and_leaves_nothing_behind(tmp_path):
    data_dir = tmp_path / "data"
    server = start_up(data_dir)
    stores = store_pids(data_dir)
    assert len(stores) == 2
    try:
        tables = httpx.get(f"{server.url}/api/v1/stocks/tables", headers=server.headers()).json()
        assert {t["symbol"] for t in tables} == {"DEMO", "SYNTH"}
        assert {t["source"] for t in tables} == {"synthetic"}

        held = run_k2q("up", env=k2q_env(data_dir, free_port()))
        assert "held by another k2q process" in one_line_error(held)

        port = int(server.url.rsplit(":", 1)[1])
        busy = run_k2q("up", env=k2q_env(tmp_path / "other", port))
        assert "busy" in one_line_error(busy)

        fetched = run_k2q(
            "fetch", "cli1", "--timespan", "day", "--from", "2024-01-01", "--to", "2024-03-31",
            "--source", "synthetic", env=server.env,
        )  # fmt: skip
        assert fetched.returncode == 0, fetched.stderr
        assert "cli1_1day_2024-01-01_2024-03-31" in fetched.stdout
        names = {
            t["table"]
            for t in httpx.get(f"{server.url}/api/v1/stocks/tables", headers=server.headers()).json()
        }
        assert "cli1_1day_2024-01-01_2024-03-31" in names

        bad = run_k2q(
            "fetch",
            "CLI1",
            "--from",
            "2024-03-31",
            "--to",
            "2024-01-01",
            "--source",
            "synthetic",
            env=server.env,
        )
        assert "before" in one_line_error(bad)

        migrated = run_k2q("migrate", env=server.env)
        assert migrated.returncode == 0
        assert "running server" in migrated.stdout

        anonymous = httpx.get(f"{server.url}/api/v1/stocks/tables")
        assert anonymous.status_code == 401
        assert server.login_url.startswith(f"{server.url}/login?token=")
        added = subprocess.run(
            [*K2Q, "user", "add", "Bob", "--role", "analyst", "--password-stdin"],
            input="a long enough password\n", env=server.env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        created = run_k2q("apikey", "create", "--user", "bob", "--name", "notebook", env=server.env)
        assert created.returncode == 0, created.stderr
        key = created.stdout.strip()
        assert key.startswith("k2q_")
        assert "\n" not in key
        me = httpx.get(f"{server.url}/api/v1/auth/me", headers={"Authorization": f"Bearer {key}"}).json()
        assert me == {"username": "bob", "role": "analyst", "auth": "api_key"}
        assert run_k2q("user", "set-role", "bob", "viewer", env=server.env).returncode == 0
        me = httpx.get(f"{server.url}/api/v1/auth/me", headers={"Authorization": f"Bearer {key}"}).json()
        assert me["role"] == "viewer"
        assert "bob" in run_k2q("user", "list", env=server.env).stdout
        assert key[:12] in run_k2q("apikey", "list", "--user", "bob", env=server.env).stdout
        assert run_k2q("apikey", "revoke", key[:12], env=server.env).returncode == 0
        revoked = httpx.get(f"{server.url}/api/v1/auth/me", headers={"Authorization": f"Bearer {key}"})
        assert revoked.status_code == 401
        too_high = run_k2q("apikey", "create", "--user", "bob", "--role", "admin", env=server.env)
        assert "more rights" in one_line_error(too_high)
        demote_last = run_k2q("user", "set-role", "admin", "viewer", env=server.env)
        assert "last active admin" in one_line_error(demote_last)
    finally:
        code = server.stop(signal.SIGTERM)
    assert code == 0, server.output()
    assert not alive(stores)
    assert not postgres_servers(data_dir.resolve())

    again = start_up(data_dir)
    try:
        names_again = {
            t["table"] for t in httpx.get(f"{again.url}/api/v1/stocks/tables", headers=again.headers()).json()
        }
        assert names_again == names
        # The link the first run printed died with the new one; the new one works, once.
        earlier, latest = (url.split("token=", 1)[1] for url in (server.login_url, again.login_url))
        with httpx.Client(base_url=again.url) as browser:
            assert browser.post("/api/v1/auth/token-login", json={"token": earlier}).status_code == 401
            assert browser.post("/api/v1/auth/token-login", json={"token": latest}).status_code == 200
    finally:
        assert again.stop(signal.SIGINT) == 0
    assert not postgres_servers(data_dir.resolve())


def test_fetch_and_migrate_without_a_server(tmp_path):
    env = k2q_env(tmp_path / "data", free_port())
    migrated = run_k2q("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    migrations = sorted(path.stem for path in MIGRATIONS_DIR.glob("*.sql"))
    assert f"applied {len(migrations)} migration(s): {', '.join(migrations)}\n" in migrated.stdout
    assert "up to date" in run_k2q("migrate", env=env).stdout

    fetched = run_k2q(
        "fetch", "AAA", "BBB", "--timespan", "minute", "--multiplier", "15",
        "--from", "2024-06-03", "--to", "2024-06-07", "--source", "synthetic", env=env,
    )  # fmt: skip
    assert fetched.returncode == 0, fetched.stderr
    assert "aaa_15minute_2024-06-03_2024-06-07" in fetched.stdout
    assert "windows" in fetched.stderr  # the progress bars
    assert not postgres_servers((tmp_path / "data").resolve())

    polygon_without_key = run_k2q("fetch", "AAA", "--from", "2024-01-01", "--to", "2024-01-31", env=env)
    assert "POLYGON_API_KEY" in one_line_error(polygon_without_key)


def test_fetch_from_polygon_in_process(tmp_path):
    start = int(dt.datetime(2024, 2, 1, 14, 30, tzinfo=dt.UTC).timestamp() * 1000)
    ts = start + np.arange(390, dtype=np.int64) * 60_000
    price = np.linspace(50, 51, 390)
    bars = pa.table(
        {"t": ts, "o": price, "h": price + 0.05, "l": price - 0.05, "c": price, "v": np.full(390, 100.0)}
    )
    with PolygonLoopback(api_key="cli-key") as polygon:
        polygon.add_bars("X:BTCUSD", 1, "minute", bars)
        env = k2q_env(
            tmp_path / "data", free_port(), POLYGON_API_KEY="cli-key", POLYGON_BASE_URL=polygon.base_url
        )
        fetched = run_k2q(
            "fetch", "X:BTCUSD", "--timespan", "minute", "--from", "2024-02-01", "--to", "2024-02-01", env=env
        )
        assert fetched.returncode == 0, fetched.stderr
        assert "390 bars" in fetched.stdout, fetched.stdout + fetched.stderr

        wrong_key = k2q_env(
            tmp_path / "data", free_port(), POLYGON_API_KEY="nope", POLYGON_BASE_URL=polygon.base_url
        )
        refused = run_k2q(
            "fetch",
            "X:BTCUSD",
            "--timespan",
            "minute",
            "--from",
            "2024-02-01",
            "--to",
            "2024-02-01",
            env=wrong_key,
        )
        assert refused.returncode != 0, refused.stdout
        assert "Unknown API Key" in refused.stderr, refused.stderr
        assert "nope" not in refused.stderr + refused.stdout


def test_binding_beyond_loopback_is_refused(tmp_path):
    refused = run_k2q("up", env=k2q_env(tmp_path / "data", free_port(), K2Q_HOST="0.0.0.0"))
    assert "K2Q_SECRET_KEY" in one_line_error(refused)
    assert not (tmp_path / "data" / "postgres").exists()


def test_serve_and_worker_need_servers(tmp_path):
    for command in ("serve", "worker"):
        refused = run_k2q(command, env=k2q_env(tmp_path / "data", free_port()))
        assert "CLICKHOUSE_URL" in one_line_error(refused)


def test_bad_settings_are_one_line_errors(tmp_path):
    refused = run_k2q("up", env=k2q_env(tmp_path / "data", 1, K2Q_PORT="eighty"))
    assert "K2Q_PORT" in one_line_error(refused)


def test_up_recovers_after_being_killed(tmp_path):
    data_dir = tmp_path / "data"
    first = start_up(data_dir)
    orphans = store_pids(data_dir)
    tables = httpx.get(f"{first.url}/api/v1/stocks/tables", headers=first.headers()).json()
    first.stop(signal.SIGKILL)  # no clean-up at all: postgres and redis-server are orphaned
    assert alive(orphans) == orphans

    with running_up(data_dir) as second:
        stores = store_pids(data_dir)
        assert httpx.get(f"{second.url}/api/v1/stocks/tables", headers=second.headers()).json() == tables
    assert not alive(orphans | stores)
    assert not postgres_servers(data_dir.resolve())


def test_first_run_admin_from_the_environment(tmp_path):
    bootstrap = "automation-key-" + "z" * 32
    admin = {"K2Q_ADMIN_USER": "Root", "K2Q_ADMIN_PASSWORD": "a long admin password"}
    with running_up(tmp_path / "data", K2Q_BOOTSTRAP_API_KEY=bootstrap, **admin) as server:
        me = httpx.get(
            f"{server.url}/api/v1/auth/me", headers={"Authorization": f"Bearer {bootstrap}"}
        ).json()
        assert me == {"username": "root", "role": "admin", "auth": "api_key"}
        with httpx.Client(base_url=server.url) as browser:
            login = browser.post(
                "/api/v1/auth/login", json={"username": "root", "password": "a long admin password"}
            )
            assert login.status_code == 200
        assert server.login_url == ""  # the admin has a password: no link unless asked for
        assert "token=" not in server.output()
        assert "k2q up --sign-in-link" in server.output()
    with running_up(tmp_path / "data", args=("--sign-in-link",), **admin) as server:
        assert server.login_url.startswith(f"{server.url}/login?token=")
        token = server.login_url.split("token=", 1)[1]
        with httpx.Client(base_url=server.url) as browser:
            assert browser.post("/api/v1/auth/token-login", json={"token": token}).status_code == 200
            assert browser.get("/api/v1/auth/me").json()["username"] == "root"
        with httpx.Client(base_url=server.url) as someone_else:  # the link works once
            assert someone_else.post("/api/v1/auth/token-login", json={"token": token}).status_code == 401


def test_export_to_files_with_and_without_a_server(tmp_path):
    data_dir = tmp_path / "data"
    env = k2q_env(data_dir, free_port())
    fetched = run_k2q(
        "fetch", "EXA", "EXB", "--timespan", "day", "--from", "2022-11-01", "--to", "2024-02-29",
        "--source", "synthetic", env=env,
    )  # fmt: skip
    assert fetched.returncode == 0, fetched.stderr
    single = tmp_path / "exa.parquet"
    exported = run_k2q("export", "exa_1day_2022-11-01_2024-02-29", "--out", str(single), env=env)
    assert exported.returncode == 0, exported.stderr
    exa = pq.read_table(single)
    assert exa.num_rows > 300
    assert exa.schema.field("ts").type == pa.timestamp("ms", tz="UTC")

    with running_up(data_dir) as server:
        lake = tmp_path / "lake"
        partitioned = run_k2q("export", "--all", "--partitioned", "--out", str(lake), env=server.env)
        assert partitioned.returncode == 0, partitioned.stderr
        files = sorted(str(path.relative_to(lake)) for path in lake.rglob("*.parquet"))
        series = "width=1day/adjusted=true/source=synthetic"
        assert f"{series}/symbol=EXA/year=2023/exa_1day_2022-11-01_2024-02-29.parquet" in files
        symbols = {path.removeprefix(f"{series}/").split("/")[0] for path in files}
        assert symbols == {"symbol=EXA", "symbol=EXB"}  # no demo: data existed
        with duckdb.connect() as db:
            count, symbols = db.execute(  # type: ignore[misc]
                "SELECT count(*), count(DISTINCT symbol) FROM read_parquet(?, hive_partitioning = true)",
                [f"{lake}/**/*.parquet"],
            ).fetchone()
        assert symbols == 2
        assert count == 2 * exa.num_rows
        csv = run_k2q(
            "export", "exa_1day_2022-11-01_2024-02-29", "--format", "csv", "--from", "2023-01-01", "--to",
            "2023-01-31", "--columns", "close", "--out", str(tmp_path / "jan.csv"), env=server.env,
        )  # fmt: skip
        assert csv.returncode == 0, csv.stderr
        lines = (tmp_path / "jan.csv").read_text().splitlines()
        assert lines[0] == '"ts","close"'
        assert 15 < len(lines) - 1 < 25
        missing = run_k2q("export", "nope", "--out", str(tmp_path / "x.parquet"), env=server.env)
        assert "no dataset named nope" in one_line_error(missing)
        one_file = run_k2q("export", "--all", "--out", str(tmp_path / "all.parquet"), env=server.env)
        assert "--partitioned" in one_line_error(one_file)
