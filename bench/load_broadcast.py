"""The fan-out baseline: a bare ``websockets`` server relaying one Redis channel to every client.

Run by ``bench/load.py`` as its own process (as the API is), so both servers have a core of their
own: ``python -m bench.load_broadcast PORT REDIS_URL CHANNEL``. A client sends one message (any
text) to subscribe and is answered ``{"type": "subscribed"}``; from then on it receives every
message published on the channel, sent as is: no decoding, no per-client filter, no re-encoding.
It prints ``ready`` once it listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

from redis.asyncio import Redis
from websockets.asyncio.server import ServerConnection, broadcast, serve

SUBSCRIBED = '{"type":"subscribed","symbols":[]}'


async def relay(port: int, redis_url: str, channel: str) -> None:
    clients: set[ServerConnection] = set()

    async def handler(socket: ServerConnection) -> None:
        await socket.recv()
        await socket.send(SUBSCRIBED)
        clients.add(socket)
        try:
            await socket.wait_closed()
        finally:
            clients.discard(socket)

    redis = Redis.from_url(redis_url)
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(channel)
    async with serve(handler, "127.0.0.1", port, max_queue=None):
        print("ready", flush=True)
        async for message in pubsub.listen():
            if message.get("type") == "message":
                broadcast(clients, message["data"].decode())


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(relay(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
