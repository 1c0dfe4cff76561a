"""Request and job ids: on every log line they cause, on the answer, and in a 500's body."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import structlog
from websockets.asyncio.client import connect

from api.logs import configure_logging
from api.runtime import Runtime
from tests.conftest import app_client, drain_jobs
from tests.process import serve_app

FETCH = {
    "symbols": ["RQID"],
    "timespan": "day",
    "from": "2024-01-01",
    "to": "2024-01-31",
    "source": "synthetic",
}


@contextlib.contextmanager
def _json_log() -> Iterator[io.StringIO]:
    """Every log line written meanwhile, as the production JSON renderer writes it."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    out = io.StringIO()
    configure_logging("json")
    root.handlers[0].setStream(out)
    try:
        yield out
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.reset_defaults()


def _lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]


class _Broken:
    """A dataset service that fails as a bug would (a fault injected for this test)."""

    async def all(self) -> list[object]:
        raise ZeroDivisionError("a bug")


async def test_each_answer_names_its_request_and_a_500_shows_it(clean: Runtime, admin_key: str):
    async with app_client(clean, admin_key) as http:
        fresh = await http.get("/api/v1/stocks/tables")
        sent = await http.get("/api/v1/stocks/tables", headers={"X-Request-Id": "trace-abc_123"})
        forged = await http.get("/api/v1/stocks/tables", headers={"X-Request-Id": "bad id\twith spaces"})
        before = clean.services
        clean.services = dataclasses.replace(before, datasets=_Broken())
        try:
            with _json_log() as out:
                failed = await http.get("/api/v1/stocks/tables")
        finally:
            clean.services = before
    assert len(fresh.headers["x-request-id"]) == 32
    assert sent.headers["x-request-id"] == "trace-abc_123"
    assert forged.headers["x-request-id"] != "bad id\twith spaces"
    assert len(forged.headers["x-request-id"]) == 32
    error_id = failed.headers["x-request-id"]
    body = failed.json()
    assert failed.status_code == 500
    assert body["error_id"] == error_id
    assert f"quote this id: {error_id}" in body["detail"]
    assert "a bug" not in failed.text  # internals stay in the log
    logged = [line for line in _lines(out) if line.get("request_id") == error_id]
    error = next(line for line in logged if line["event"] == "unhandled error")
    frames = error["exception"][0]
    assert frames["exc_type"] == "ZeroDivisionError"
    assert frames["exc_value"] == "a bug"
    assert any(frame["name"] == "all" for frame in frames["frames"])


async def test_a_jobs_log_lines_name_the_job_and_the_request_that_queued_it(clean: Runtime, admin_key: str):
    async with app_client(clean, admin_key) as http:
        with _json_log() as queued:
            accepted = await http.post(
                "/api/v1/stocks/fetch", json=FETCH, headers={"X-Request-Id": "queue-it-1"}
            )
        job_id = accepted.json()["job_id"]
        with _json_log() as out:
            await drain_jobs(clean)
        status = (await http.get(f"/api/v1/jobs/{job_id}")).json()
    assert accepted.headers["x-request-id"] == "queue-it-1"
    assert status["request_id"] == "queue-it-1"
    queuing = [line for line in _lines(queued) if line.get("request_id") == "queue-it-1"]
    assert f"job queued: fetch {job_id}" in [line["event"] for line in queuing]
    ours = [line for line in _lines(out) if line.get("job_id") == job_id]
    assert [line["event"] for line in ours if line["event"].startswith("job ")] == [
        "job started",
        "job ended: complete",
    ]
    assert {line["job_kind"] for line in ours} == {"fetch"}
    assert {line["request_id"] for line in ours} == {"queue-it-1"}


async def test_a_websocket_is_answered_with_its_request_id(clean: Runtime, admin_key: str):
    headers = {"Authorization": f"Bearer {admin_key}"}
    async with serve_app(clean) as address:
        async with connect(f"ws://{address}/api/v1/ws", additional_headers=headers) as fresh:
            assert fresh.response is not None
            given = fresh.response.headers["X-Request-Id"]
        sent = {**headers, "X-Request-Id": "socket-7"}
        async with connect(f"ws://{address}/api/v1/ws", additional_headers=sent) as kept:
            assert kept.response is not None
            echoed = kept.response.headers["X-Request-Id"]
    assert len(given) == 32
    assert echoed == "socket-7"
