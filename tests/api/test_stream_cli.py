"""``k2q stream`` as users run it: a real process, in its own stores or through a running server."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import POLYGON_KEY
from tests.loopback.polygon import PolygonLoopback
from tests.loopback.polygon_ws import PolygonWsLoopback, am_event
from tests.process import K2Q, free_port, k2q_env, run_k2q, running_up

MINUTE = 60_000


class Running:
    """A ``k2q stream`` process whose output is read as it comes."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [*K2Q, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._threads = [
            threading.Thread(target=self._drain, args=(self.process.stdout, self.out), daemon=True),
            threading.Thread(target=self._drain, args=(self.process.stderr, self.err), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    @staticmethod
    def _drain(pipe: object, lines: list[str]) -> None:
        for line in pipe:
            lines.append(line)

    def wait_for(self, predicate: Callable[[], bool], what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"never saw {what}:\nstdout: {''.join(self.out)}\nstderr: {''.join(self.err)}"
                )
            time.sleep(0.05)

    def interrupt(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        for thread in self._threads:
            thread.join(timeout=5)
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()
        return code

    def __enter__(self) -> Running:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process.returncode is None:
            self.interrupt()


@pytest.fixture
def polygon_ws() -> Iterator[PolygonWsLoopback]:
    with PolygonWsLoopback(api_key=POLYGON_KEY) as server:
        yield server


def polygon_env(polygon: PolygonLoopback, polygon_ws: PolygonWsLoopback) -> dict[str, str]:
    return {
        "POLYGON_API_KEY": POLYGON_KEY,
        "POLYGON_BASE_URL": polygon.base_url,
        "POLYGON_WS_URL": polygon_ws.url,
    }


def last_closed_minute() -> int:
    return int(time.time() * 1000) // MINUTE * MINUTE - MINUTE


def test_stream_needs_a_key(tmp_path: Path):
    result = run_k2q("stream", "AAPL", env=k2q_env(tmp_path / "data", free_port()))
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "k2q: k2q stream needs POLYGON_API_KEY (a Polygon / Massive key with WebSocket access)"
    )
    bad = run_k2q("stream", "AAPL;", env=k2q_env(tmp_path / "data", free_port(), POLYGON_API_KEY="k"))
    assert bad.returncode == 2
    assert "not a valid ticker" in bad.stderr


def test_stream_in_its_own_stores_prints_each_bar_and_stops_on_ctrl_c(
    tmp_path: Path, polygon: PolygonLoopback, polygon_ws: PolygonWsLoopback
):
    polygon.reset()
    data_dir = tmp_path / "data"
    env = k2q_env(data_dir, free_port(), **polygon_env(polygon, polygon_ws))
    with Running(["stream", "aapl"], env) as running:
        running.wait_for(lambda: polygon_ws.subscribed() == {"AM.AAPL"}, "the subscription")
        minute = last_closed_minute()
        polygon_ws.push([am_event("AAPL", minute, 190.5, open_=190.0, volume=4321)])
        running.wait_for(
            lambda: any("AAPL" in line and "190.5" in line for line in running.out), "the bar line"
        )
        assert running.interrupt() == 0, "".join(running.err)
    stderr = "".join(running.err)
    assert "AAPL: minute bars go to a new live dataset" in stderr
    assert "connected to" in stderr
    assert POLYGON_KEY not in stderr + "".join(running.out)
    assert "Traceback" not in stderr
    (line,) = [line for line in running.out if "AAPL" in line]
    assert "4,321" in line

    day = dt.datetime.fromtimestamp(minute / 1000, dt.timezone(dt.timedelta(hours=-5))).date()
    exported = tmp_path / "bars.csv"
    for candidate in (day, day + dt.timedelta(days=1)):  # New York is UTC-5 or UTC-4
        result = run_k2q(
            "export",
            f"aapl_1minute_{candidate.isoformat()}_live",
            "--format",
            "csv",
            "--out",
            str(exported),
            env=env,
        )
        if result.returncode == 0:
            break
    assert result.returncode == 0, result.stderr
    assert "190.5" in exported.read_text()


def test_stream_through_a_running_server(
    tmp_path: Path, polygon: PolygonLoopback, polygon_ws: PolygonWsLoopback
):
    polygon.reset()
    with running_up(tmp_path / "data", **polygon_env(polygon, polygon_ws)) as server:
        with Running(["stream", "AAPL"], server.env) as running:
            running.wait_for(
                lambda: any("streams AAPL" in line for line in running.err), "the server's answer"
            )
            assert polygon_ws.subscribed() == {"AM.AAPL"}
            minute = last_closed_minute()
            polygon_ws.push([am_event("AAPL", minute, 77.25, volume=99)])
            running.wait_for(
                lambda: any("AAPL" in line and "77.25" in line for line in running.out), "the bar line"
            )
            tables = httpx.get(
                f"{server.url}/api/v1/stocks/tables", headers=server.headers(), timeout=10
            ).json()
            (aapl,) = [t for t in tables if t["symbol"] == "AAPL"]
            assert aapl["table"].endswith("_live")
            assert aapl["total_records"] == 1
            assert running.interrupt() == 0, "".join(running.err)
        # The command is gone, so is its lease: the server stops streaming.
        deadline = time.monotonic() + 30
        while polygon_ws.subscribed() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert polygon_ws.subscribed() == set()
