"""Open the one ClickHouse client: embedded chDB by default, a server when a URL is given."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from warehouse.errors import Unavailable
from warehouse.redact import redact_url

T = TypeVar("T")


class ClickHouse:
    """A clickhouse-connect client plus the executor its blocking calls run on.

    chDB runs queries one at a time inside this process, so embedded mode uses one worker
    thread; a server gets a small pool so slices for several users overlap.
    """

    def __init__(self, client: Client, *, embedded: bool) -> None:
        self.client = client
        self.embedded = embedded
        self._executor = ThreadPoolExecutor(max_workers=1 if embedded else 8, thread_name_prefix="clickhouse")

    async def run(self, fn: Callable[[Client], T]) -> T:
        """Run ``fn(client)`` off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, self.client)

    def close(self) -> None:
        """Close the client and stop the executor."""
        self._executor.shutdown(wait=True)
        self.client.close()


def connect_clickhouse(url: str | None, data_dir: Path) -> ClickHouse:
    """Connect to ClickHouse at ``url``, or open chDB under ``data_dir/clickhouse``.

    Raises:
        Unavailable: the server cannot be reached or the data directory cannot be opened.
    """
    try:
        if url:
            return ClickHouse(clickhouse_connect.get_client(dsn=url), embedded=False)
        path = (data_dir / "clickhouse").resolve()
        path.mkdir(parents=True, exist_ok=True)
        return ClickHouse(clickhouse_connect.get_client(dsn=f"chdb://{path}"), embedded=True)
    except Exception as exc:
        where = redact_url(url) if url else str(data_dir / "clickhouse")
        raise Unavailable(f"cannot open ClickHouse at {where}: {exc}") from exc
