"""The WebSocket relay: live job events reach their owner (and admins), nobody else."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from api.auth.credentials import hash_password
from api.runtime import Runtime
from schemas.events import EVENTS_CHANNEL
from tests.conftest import drain_jobs
from tests.process import serve_app

FETCH = {
    "symbols": ["WSA"],
    "timespan": "day",
    "from": "2024-01-02",
    "to": "2024-03-29",
    "source": "synthetic",
}


@pytest.fixture
async def server(clean: Runtime) -> AsyncIterator[str]:
    """The real app under uvicorn on loopback, in this event loop (the runtime's connections live here)."""
    async with serve_app(clean) as address:
        yield address


@pytest.fixture
async def keys(clean: Runtime) -> dict[str, str]:
    async with clean.stack.pool.connection() as conn:
        await conn.execute("DELETE FROM users WHERE username <> 'admin'")
    found = {}
    for name, role in (("ana", "analyst"), ("vic", "viewer"), ("boss", "admin")):
        await clean.auth.users.create(name, hash_password("a long password"), role)
        found[name] = (await clean.auth.create_key(name, "ws", None, None)).key
    return found


def socket(
    address: str, key: str | None, origin: str | None = None
) -> contextlib.AbstractAsyncContextManager[ClientConnection]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if origin:
        headers["Origin"] = origin
    return connect(f"ws://{address}/api/v1/ws", additional_headers=headers, open_timeout=5)


async def received(ws: ClientConnection, seconds: float = 0.5) -> list[dict[str, object]]:
    events = []
    with contextlib.suppress(TimeoutError):
        while True:
            events.append(msgspec.json.decode(await asyncio.wait_for(ws.recv(), seconds)))
    return events


async def test_job_events_reach_their_owner_and_admins_only(clean: Runtime, server: str, keys):
    async with (
        socket(server, keys["ana"]) as owner,
        socket(server, keys["vic"]) as other,
        socket(server, keys["boss"]) as admin,
    ):
        await asyncio.sleep(0.2)  # subscriptions are live
        async with httpx.AsyncClient(base_url=f"http://{server}") as http:
            accepted = await http.post(
                "/api/v1/stocks/fetch", json=FETCH, headers={"Authorization": f"Bearer {keys['ana']}"}
            )
            assert accepted.status_code == 202
            job_id = accepted.json()["job_id"]
            await drain_jobs(clean)
            hidden = await http.get(
                f"/api/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {keys['vic']}"}
            )
            assert hidden.status_code == 404
        mine = await received(owner)
        assert mine, "the owner saw no events"
        assert {event["type"] for event in mine} == {"fetch_progress"}
        assert all(event["job_id"] == job_id and event["owner"] == "ana" for event in mine)
        assert mine[-1]["state"] == "complete"
        assert mine[-1]["symbols"][0]["table"] == "wsa_1day_2024-01-02_2024-03-29"
        assert [event["job_id"] for event in await received(admin)] == [job_id] * len(mine)
        assert await received(other) == []


async def test_sockets_need_credentials_and_this_origin(server: str, keys):
    with pytest.raises(InvalidStatus) as refused:
        async with socket(server, None):
            pass
    assert refused.value.response.status_code in (401, 403)
    with pytest.raises(InvalidStatus):
        async with socket(server, "k2q_not-a-key"):
            pass
    with pytest.raises(InvalidStatus) as hijack:  # closed before the handshake completes
        async with socket(server, keys["vic"], origin="http://evil.example"):
            pass
    assert hijack.value.response.status_code == 403
    async with socket(server, keys["vic"], origin=f"http://{server}") as same_site:
        assert await received(same_site, 0.2) == []


async def test_events_flow_again_after_redis_drops_the_subscription(clean: Runtime, server: str, keys):
    async with socket(server, keys["ana"]) as owner:
        await asyncio.sleep(0.2)
        dropped = await clean.stack.redis.client_kill_filter(_type="pubsub")
        assert dropped >= 1
        for _ in range(50):  # the hub subscribes again within about RESUBSCRIBE_S
            if await clean.stack.redis.pubsub_numsub(EVENTS_CHANNEL) == [(EVENTS_CHANNEL.encode(), 1)]:
                break
            await asyncio.sleep(0.1)
        async with httpx.AsyncClient(base_url=f"http://{server}") as http:
            accepted = await http.post(
                "/api/v1/stocks/fetch", json=FETCH, headers={"Authorization": f"Bearer {keys['ana']}"}
            )
        await drain_jobs(clean)
        mine = await received(owner)
    assert mine, "no events after the subscription was dropped"
    assert mine[-1]["job_id"] == accepted.json()["job_id"]
    assert mine[-1]["state"] == "complete"
