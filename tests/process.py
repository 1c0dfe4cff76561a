"""Run ``k2q`` as users do: a real process with its own data directory and port."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import uvicorn

from api.app import create_app
from api.serve import server_config

if TYPE_CHECKING:
    from api.runtime import Runtime

K2Q = [sys.executable, "-m", "api.cli"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def serve_app(runtime: Runtime) -> AsyncIterator[str]:
    """The real app over ``runtime`` under uvicorn on loopback, in this event loop; yields ``host:port``."""
    port = free_port()
    serving = uvicorn.Server(server_config(create_app(runtime), "127.0.0.1", port))
    task = asyncio.create_task(serving.serve())
    while not serving.started:
        await asyncio.sleep(0.02)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        serving.should_exit = True
        await task


def k2q_env(data_dir: Path, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("K2Q_", "POLYGON_"))}
    env.pop("CLICKHOUSE_URL", None)
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    # The synthetic live feed changes the demo datasets every minute; tests that want it turn it on.
    env.update(
        {
            "K2Q_DATA_DIR": str(data_dir),
            "K2Q_PORT": str(port),
            "K2Q_LOG_FORMAT": "json",
            "K2Q_LIVE_DEMO": "0",
            **extra,
        }
    )
    return env


def run_k2q(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*K2Q, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The message of a ``k2q`` command that failed as users should see it: one ``k2q: …`` line, no stack."""
    assert result.returncode != 0, result.stdout
    message = result.stderr.strip()
    assert message.startswith("k2q: "), message
    assert "\n" not in message, message
    assert "Traceback" not in result.stderr + result.stdout
    return message


@dataclass
class K2qServer:
    """A running ``k2q up``."""

    process: subprocess.Popen[str]
    url: str
    data_dir: Path
    env: dict[str, str]
    startup_s: float

    lines: list[str]
    login_url: str = ""
    """The one-time sign-in link ``k2q up`` printed ("" when it printed none)."""
    admin_key: str = ""
    """The admin key ``k2q up`` left for local commands (``<data dir>/cli.key``)."""
    _drain: threading.Thread | None = None

    def headers(self) -> dict[str, str]:
        """Headers that authenticate as the admin."""
        return {"Authorization": f"Bearer {self.admin_key}"}

    def follow(self) -> None:
        """Keep reading the output, so a chatty server never blocks on a full pipe."""

        def drain() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.lines.append(line)

        self._drain = threading.Thread(target=drain, daemon=True)
        self._drain.start()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout=timeout)
        if self._drain is not None:
            self._drain.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return code

    def output(self) -> str:
        return "".join(self.lines)


def start_up(
    data_dir: Path,
    port: int | None = None,
    timeout: float = 120,
    args: tuple[str, ...] = (),
    **extra: str,
) -> K2qServer:
    """Start ``k2q up [args]`` and wait until it prints its URL and how to sign in, and ``/ready`` says ok."""
    port = port or free_port()
    env = k2q_env(data_dir, port, **extra)
    started = time.perf_counter()
    process = subprocess.Popen(
        [*K2Q, "up", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    lines: list[str] = []
    url = ""
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                process.stdout.close()
                raise RuntimeError(f"k2q up exited with {process.returncode}:\n{''.join(lines)}")
            continue
        lines.append(line)
        if "ready at" in line:
            url = line.split("ready at", 1)[1].split()[0]
        if line.startswith("Sign in"):  # the one-time link, or how to get one
            login_url = line.rsplit(" ", 1)[1].strip() if "/login?token=" in line else ""
            assert httpx.get(f"{url}/ready", timeout=10).json()["ok"] is True
            admin_key = (data_dir / "cli.key").read_text().strip()
            server = K2qServer(
                process, url, data_dir, env, time.perf_counter() - started, lines, login_url, admin_key
            )
            server.follow()
            return server
    process.kill()
    process.wait()
    process.stdout.close()
    raise TimeoutError(f"k2q up did not become ready in {timeout} s:\n{''.join(lines)}")


@contextlib.contextmanager
def running_up(data_dir: Path, args: tuple[str, ...] = (), **extra: str) -> Iterator[K2qServer]:
    """A ``k2q up`` (see :func:`start_up`) for as long as the context lasts.

    A clean exit on SIGTERM (status 0) is part of every test that uses it; when the body fails,
    the server is stopped and the body's failure is the one reported.
    """
    k2q = start_up(data_dir, args=args, **extra)
    try:
        yield k2q
    except BaseException:
        with contextlib.suppress(Exception):
            k2q.stop()
        raise
    code = k2q.stop()
    assert code == 0, f"k2q up exited with {code}:\n{k2q.output()}"


def _processes() -> dict[int, str]:
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            status = (entry / "status").read_text()
        except OSError:
            continue
        if "State:\tZ" not in status:
            found[int(entry.name)] = cmdline
    return found


def store_pids(data_dir: Path) -> set[int]:
    """Pids of the embedded PostgreSQL and redis-server that a ``k2q up`` on ``data_dir`` started."""
    pids = set()
    for pid_file, first_line in (
        (data_dir / "postgres" / "postmaster.pid", True),
        (data_dir / "redis" / "server.pid", False),
    ):
        if pid_file.exists():
            text = pid_file.read_text().strip()
            pids.add(int(text.splitlines()[0] if first_line else text))
    return pids


def alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` that still run (zombies count as gone)."""
    return set(_processes()) & pids


def postgres_servers(data_dir: Path) -> set[int]:
    """Pids of live postgres processes serving ``data_dir``."""
    return {
        pid for pid, cmdline in _processes().items() if "postgres" in cmdline and str(data_dir) in cmdline
    }
