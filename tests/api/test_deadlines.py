"""Requests bounded in time, and a shutdown that ends in-flight work within its grace period."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
from litestar import Litestar, get
from litestar.response import Stream

from api.deadline import DEADLINE_OPT, DeadlineMiddleware
from api.serve import SHUTDOWN_GRACE_S
from tests.process import running_up


@get("/slow", opt={DEADLINE_OPT: 0.2})
async def slow() -> str:
    await asyncio.sleep(5)
    return "late"


@get("/quick", opt={DEADLINE_OPT: 5})
async def quick() -> str:
    return "on time"


@get("/stream", opt={DEADLINE_OPT: None})
async def stream() -> Stream:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(3):
            await asyncio.sleep(0.1)
            yield b"x"

    return Stream(chunks())


async def test_a_request_past_its_deadline_gets_503_with_retry_after():
    app = Litestar([slow, quick, stream], middleware=[DeadlineMiddleware])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://k2q.test") as http:
        began = time.perf_counter()
        answer = await http.get("/slow")
        assert time.perf_counter() - began < 2
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "5"
        assert answer.headers["content-type"] == "application/problem+json"
        assert "longer than its 0.2 s limit" in answer.json()["detail"]
        assert (await http.get("/quick")).text == "on time"
        assert (await http.get("/stream")).content == b"xxx"


def _trickle(stop: threading.Event) -> Iterator[bytes]:
    yield b"date,open,high,low,close\n"
    while not stop.is_set():
        yield b"2024-01-02,1,2,0.5,1.5\n" * 100
        time.sleep(0.05)


def test_shutdown_ends_an_upload_in_flight_and_leaves_no_temporary_files(tmp_path: Path):
    """SIGTERM during an upload that never ends: the process exits in its grace period, files removed."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    with running_up(tmp_path / "data", TMPDIR=str(scratch)) as k2q:
        stop = threading.Event()
        outcome: list[object] = []

        def upload() -> None:
            try:
                outcome.append(
                    httpx.post(
                        f"{k2q.url}/api/v1/stocks/import",
                        params={"symbol": "SLOW", "timespan": "day"},
                        content=_trickle(stop),
                        headers=k2q.headers() | {"Content-Type": "text/csv"},
                        timeout=60,
                    ).status_code
                )
            except httpx.HTTPError as exc:
                outcome.append(exc)

        uploader = threading.Thread(target=upload, daemon=True)
        uploader.start()
        deadline = time.monotonic() + 20
        while not list(scratch.glob("k2q-import-*")):
            assert time.monotonic() < deadline, "the upload never reached the server"
            time.sleep(0.05)
        began = time.monotonic()
        k2q.process.send_signal(signal.SIGTERM)
        k2q.process.wait(timeout=SHUTDOWN_GRACE_S + 20)
        took = time.monotonic() - began
        stop.set()
        uploader.join(timeout=10)
    assert took < SHUTDOWN_GRACE_S + 15, took
    assert list(scratch.glob("k2q-import-*")) == []
