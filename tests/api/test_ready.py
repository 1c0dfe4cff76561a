"""``/ready`` says 200 only once the instance serves an authenticated request.

As a new user scripts it: start ``k2q up`` with ``K2Q_BOOTSTRAP_API_KEY``, poll ``/ready`` as fast as
possible, and use the key the moment it says 200. Each round is a real ``k2q up``: the first on a
fresh data dir (initdb, migrations, first admin, demo data), the others restarts on that data dir,
each with a new bootstrap key, so every round races the key's registration against ``/ready``.
Before the fix (the first admin and the key written after uvicorn listened) every round got a 401.
"""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import msgspec
import pytest

from api.auth.service import AuthService
from api.lock import DataDirLock
from api.runtime import Runtime
from api.serve import _first_run
from tests.process import K2Q, free_port, k2q_env

ROUNDS = 6
"""One on a fresh data dir (initdb and the demo data: the slow one), then restarts on it (a few s each)."""


@dataclass
class Round:
    """What one ``k2q up`` answered while it started."""

    startup_s: float = 0.0
    refused: int = 0
    """Polls that found no listener yet."""
    not_ready: list[httpx.Response] = field(default_factory=list)
    """``/ready`` answers before the first 200."""
    tables: httpx.Response | None = None
    """``GET /api/v1/stocks/tables`` with the key, sent the moment ``/ready`` was 200."""


def listening(port: int) -> bool:
    """Whether something accepts connections on ``port`` of loopback."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def race(data_dir: Path, key: str, timeout: float = 120) -> Round:
    """Start ``k2q up``, poll ``/ready`` flat out, use ``key`` at its first 200, stop the server."""
    port = free_port()
    env = k2q_env(data_dir, port, K2Q_BOOTSTRAP_API_KEY=key)
    log = data_dir.parent / f"up-{port}.log"
    seen = Round()
    started = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen([*K2Q, "up"], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            deadline = time.monotonic() + timeout
            while seen.tables is None:
                assert process.poll() is None, f"k2q up exited with {process.returncode}:\n{log.read_text()}"
                assert time.monotonic() < deadline, f"never ready:\n{log.read_text()}"
                if not listening(port):  # a bare connect: cheap, so the starting server keeps the CPU
                    seen.refused += 1
                    time.sleep(0.001)
                    continue
                try:
                    ready = client.get("/ready")
                except httpx.TransportError:
                    seen.refused += 1
                    continue
                if ready.status_code != 200:
                    seen.not_ready.append(ready)
                    continue
                seen.tables = client.get("/api/v1/stocks/tables", headers={"Authorization": f"Bearer {key}"})
                seen.startup_s = time.perf_counter() - started
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    assert code == 0, f"k2q up exited with {code}:\n{log.read_text()}"
    return seen


@pytest.mark.slow
def test_the_bootstrap_key_works_the_moment_ready_says_ok(tmp_path):
    data_dir = tmp_path / "data"
    rounds: list[Round] = []
    for i in range(ROUNDS):  # a new key each time: every restart registers one, as the first start does
        key = f"automation-{i}-" + "k" * 32
        seen = race(data_dir, key)
        rounds.append(seen)
        assert seen.tables is not None
        assert seen.tables.status_code == 200, (
            f"round {i}: /ready said 200 after {seen.startup_s:.2f} s, yet the bootstrap key got"
            f" {seen.tables.status_code}: {seen.tables.text}"
        )
        assert {t["symbol"] for t in seen.tables.json()} == {"DEMO", "SYNTH"}  # seeded before ready
        assert seen.refused > 0  # polling began before the server listened: the race was run
        # Start-up ends before the API listens, so there is no "listening, not ready" phase; a
        # /ready before the first 200 could only be a store that did not answer: 503, never 200.
        assert all(early.status_code == 503 for early in seen.not_ready), seen.not_ready
    print(
        "rounds (s to ready, refused polls, 503s):",
        [(round(r.startup_s, 2), r.refused, len(r.not_ready)) for r in rounds],
    )


async def test_replicas_starting_together_register_the_bootstrap_key_once(
    runtime: Runtime, admin_key: str, tmp_path: Path
) -> None:
    """Replicas (``k2q serve``) share a catalog; the first-run step of each holds a catalog-wide lock.

    Without it, two replicas both find the key missing, and the second insert fails its start-up.
    """
    key = "replica-key-" + "r" * 32
    auth = runtime.auth
    settings = msgspec.structs.replace(auth.settings, bootstrap_api_key=key)
    replicas = [
        dataclasses.replace(
            runtime,
            auth=AuthService(
                settings, auth.secret, auth.users, auth.keys, auth.sessions, auth.audit, auth.redis
            ),
        )
        for _ in range(4)
    ]
    links = await asyncio.gather(*(_first_run(r, DataDirLock(tmp_path), "http://k2q.test") for r in replicas))
    assert len(set(links)) == len(replicas)  # each replica prints its own sign-in link
    principal = await auth.from_api_key(key)
    assert principal is not None
    assert principal.role == "admin"
