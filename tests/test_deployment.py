"""The scaled deployment's files: compose (checked by Debian's ``docker-compose config``), Prometheus,
nginx and the Grafana dashboard.

Without ``docker-compose`` the compose checks are skipped on a developer machine; CI sets
``K2Q_REQUIRE_COMPOSE`` and fails instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Final

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML comes with uvicorn[standard] and schemathesis

ROOT: Final = Path(__file__).resolve().parent.parent
COMPOSE: Final = ROOT / "docker-compose.yml"
CLUSTER: Final = ROOT / "infra" / "docker-compose.cluster.yml"
PROMETHEUS: Final = ROOT / "infra" / "prometheus" / "prometheus.yml"
NGINX: Final = ROOT / "infra" / "nginx" / "nginx.conf"
DASHBOARD: Final = ROOT / "infra" / "grafana" / "k2q-dashboard.json"
METRICS_DIR: Final = "/var/lib/k2q-metrics"

METRICS: Final = {
    "k2q_http_request_duration_seconds": "histogram",
    "k2q_websocket_clients": "gauge",
    "k2q_jobs": "gauge",
    "k2q_job_duration_seconds": "histogram",
    "k2q_queue_depth": "gauge",
    "k2q_bars_ingested_total": "counter",
    "k2q_clickhouse_query_duration_seconds": "histogram",
    "k2q_cache_requests_total": "counter",
    "k2q_redis_memory_bytes": "gauge",
    "k2q_postgres_pool_connections": "gauge",
}
"""What ``GET /metrics`` exposes: the only names the dashboard may query."""

REQUIRED_ENV: Final = {
    "CLICKHOUSE_PASSWORD": "dummy-clickhouse",
    "POSTGRES_PASSWORD": "dummy-postgres",
    "K2Q_SECRET_KEY": "dummy-secret",
    "K2Q_CLUSTER_SECRET": "dummy-cluster",
}


def series_names() -> set[str]:
    """The series Prometheus stores for :data:`METRICS` (a histogram's ``_bucket``, ``_count``, ``_sum``)."""
    names = set()
    for name, kind in METRICS.items():
        names.add(name)
        if kind == "histogram":
            names.update(f"{name}{suffix}" for suffix in ("_bucket", "_count", "_sum"))
    return names


@pytest.fixture(scope="module")
def compose_bin() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        reason = "docker-compose is not installed (Debian: apt-get install docker-compose)"
        if os.environ.get("K2Q_REQUIRE_COMPOSE"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return found


def compose(
    binary: str, files: list[Path], *args: str, env: dict[str, str], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    """``docker-compose -f ... config ...`` with only ``env`` set (a developer's .env is not read)."""
    empty = tmp_path / "empty.env"
    empty.write_text("")
    command = [binary, "--env-file", str(empty), "--project-directory", str(ROOT)]
    for file in files:
        command += ["-f", str(file)]
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), **env}
    return subprocess.run(
        [*command, "config", *args], env=clean, capture_output=True, text=True, timeout=60, check=False
    )


def configured(binary: str, files: list[Path], tmp_path: Path) -> dict[str, Any]:
    done = compose(binary, files, env=REQUIRED_ENV, tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    config: dict[str, Any] = yaml.safe_load(done.stdout)
    return config


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def mounts(service: dict[str, Any]) -> list[str]:
    found = []
    for volume in service.get("volumes", []):
        found.append(volume if isinstance(volume, str) else f"{volume['source']}:{volume['target']}")
    return found


def test_compose_is_valid_and_runs_every_part(compose_bin: str, tmp_path: Path):
    config = configured(compose_bin, [COMPOSE], tmp_path)
    services = config["services"]
    assert {
        "clickhouse",
        "postgres",
        "redis",
        "migrate",
        "api",
        "worker",
        "stream",
        "nginx",
        "prometheus",
    } <= set(services)
    # Every process that records metrics writes them into the one shared volume.
    for name in ("api", "worker", "stream"):
        assert environment(services[name])["PROMETHEUS_MULTIPROC_DIR"] == METRICS_DIR, name
        assert any(m.startswith("metrics:") and METRICS_DIR in m for m in mounts(services[name])), name
    assert "metrics" in config["volumes"]
    # The stream consumer runs only when asked for, and says what it lacks rather than idling.
    stream = services["stream"]
    assert stream["profiles"] == ["stream"]
    assert "k2q stream" in " ".join(stream["entrypoint"])
    assert "POLYGON_API_KEY" in environment(stream)
    # Prometheus reads the checked-in config and publishes on loopback only.
    prometheus = services["prometheus"]
    config_file = f"{PROMETHEUS}:/etc/prometheus/prometheus.yml"
    assert any(m.startswith(config_file) for m in mounts(prometheus)), mounts(prometheus)
    ports = [str(port) for port in prometheus["ports"]]
    assert all("127.0.0.1" in port for port in ports), ports


def test_compose_with_the_cluster_override_is_valid(compose_bin: str, tmp_path: Path):
    services = configured(compose_bin, [COMPOSE, CLUSTER], tmp_path)["services"]
    assert {"clickhouse-s1r2", "clickhouse-s2r1", "clickhouse-s2r2", "keeper-1", "clickhouse-init"} <= set(
        services
    )
    assert "clickhouse-init" in services["api"]["depends_on"]
    assert "prometheus" in services


def test_compose_refuses_to_start_without_the_passwords(compose_bin: str, tmp_path: Path):
    env = {k: v for k, v in REQUIRED_ENV.items() if k != "POSTGRES_PASSWORD"}
    done = compose(compose_bin, [COMPOSE], "-q", env=env, tmp_path=tmp_path)
    assert done.returncode != 0
    assert "set POSTGRES_PASSWORD" in done.stderr


def test_prometheus_scrapes_metrics_once_through_nginx_with_the_key_compose_writes():
    config = yaml.safe_load(PROMETHEUS.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    k2q = jobs["k2q"]
    assert k2q["metrics_path"] == "/metrics"
    assert [target for group in k2q["static_configs"] for target in group["targets"]] == ["nginx:80"]
    assert k2q["authorization"]["type"] == "Bearer"
    key_file = k2q["authorization"]["credentials_file"]
    # The prometheus service's entrypoint writes the key to that very file, on a tmpfs.
    service = yaml.safe_load(COMPOSE.read_text())["services"]["prometheus"]
    assert f"> {key_file}" in " ".join(service["entrypoint"])
    assert str(Path(key_file).parent) in service["tmpfs"]


def test_nginx_proxies_metrics_to_the_api():
    text = NGINX.read_text()
    assert re.search(r"location = /metrics\s*\{\s*proxy_pass http://k2q_api;\s*\}", text)


def test_grafana_dashboard_queries_only_metrics_the_api_exposes():
    dashboard = json.loads(DASHBOARD.read_text())
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    panels = [panel for panel in dashboard["panels"] if panel["type"] != "row"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    used: set[str] = set()
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            names = set(re.findall(r"\bk2q_[a-z0-9_]+", target["expr"]))
            assert names, target["expr"]
            unknown = names - series_names()
            assert not unknown, f"{panel['title']} queries {unknown}"
            used |= names
    # Every metric has a panel (a histogram through any of its series).
    unshown = {name for name in METRICS if not any(u == name or u.startswith(f"{name}_") for u in used)}
    assert not unshown
