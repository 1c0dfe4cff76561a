"""Running the processes: ``up`` (everything in one), ``serve`` (API) and ``worker`` (jobs)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import socket
import sys
from collections.abc import Callable, Iterator
from typing import Any, Final

import structlog
import uvicorn

from api.app import create_app
from api.demo import seed_demo
from api.live import start_live_demo
from api.lock import CLI_KEY_FILE, DataDirLock
from api.runtime import Runtime
from api.settings import Settings
from api.worker import build_worker, stop_worker

log = structlog.get_logger(__name__)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: :func:`run` owns SIGINT/SIGTERM for API and worker."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


SHUTDOWN_GRACE_S: Final = 10
"""On SIGTERM or Ctrl-C, requests still running after this long are cancelled (an upload in progress
is dropped and its temporary file removed), so the process always ends. New connections are refused
at once. Running jobs are interrupted at once: one that stops (a fetch, its windows checkpointed)
or is still running after this long is recorded ``queued`` and put back on the queue, for another
worker or the next start."""


def server_config(app: Any, host: str, port: int) -> uvicorn.Config:
    """How the API is served: uvicorn leaves ``X-Forwarded-For`` alone.

    uvicorn would otherwise believe the header from loopback peers; the app decides whom to believe
    (``K2Q_TRUSTED_PROXIES``, :func:`api.auth.addresses.client_address`).
    """
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        proxy_headers=False,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )


class StartupError(Exception):
    """The process cannot start; the message is one line for the user."""


def check_bind(settings: Settings) -> None:
    """Refuse an unauthenticated bind beyond loopback, and a port that is taken.

    Raises:
        StartupError: with the reason in one line.
    """
    server = settings.server
    if not server.is_loopback and not settings.auth.secret_key:
        raise StartupError(
            f"refusing to listen on {server.host} without K2Q_SECRET_KEY: set a long random secret to serve"
            " beyond loopback (every request is then authenticated), or use K2Q_HOST=127.0.0.1"
        )
    family = socket.AF_INET6 if ":" in server.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((server.host, server.port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise StartupError(f"port {server.port} on {server.host} is busy (set K2Q_PORT)") from None
            raise StartupError(f"cannot listen on {server.host}:{server.port}: {exc.strerror}") from None


async def _first_run(
    runtime: Runtime, lock: DataDirLock, url: str, *, sign_in_link: bool = False
) -> str | None:
    """Make sure an admin exists; hand local ``k2q`` commands a key; return a one-time login link.

    The link comes when ``sign_in_link`` asks for it, or when the admin may have no other way in
    (no ``K2Q_ADMIN_PASSWORD``, or an admin without a password); otherwise None. Either way the
    links earlier starts printed stop working: a link never outlives a restart.

    Runs before the API listens, so that once ``/ready`` answers, the first admin and
    ``K2Q_BOOTSTRAP_API_KEY`` authenticate; under a catalog-wide lock, so that API replicas
    starting together create the admin and register the key once.
    """
    auth = runtime.auth
    async with runtime.stack.exclusive("k2q:first-run"):
        admin = await auth.ensure_admin()
        await auth.ensure_bootstrap_key(admin)
    if lock.held:
        lock.write_secret(CLI_KEY_FILE, await auth.local_cli_key(admin))
    if sign_in_link or not auth.settings.admin_password or admin.password_hash is None:
        return f"{url}/login?token={await auth.login_link(admin)}"
    await auth.revoke_login_links(admin)
    return None


def require_servers(settings: Settings, command: str) -> None:
    """``serve`` and ``worker`` run apart, so no store may be embedded (chDB is one process).

    Raises:
        StartupError: a store URL is missing.
    """
    stores = settings.stores
    required = [
        ("CLICKHOUSE_URL", stores.clickhouse_url),
        ("DATABASE_URL", stores.database_url),
        ("REDIS_URL", stores.redis_url),
    ]
    if command == "serve":  # replicas must sign and check the same session tokens
        required.append(("K2Q_SECRET_KEY", settings.auth.secret_key))
    missing = [name for name, value in required if not value]
    if missing:
        raise StartupError(
            f"k2q {command} runs against servers; set {', '.join(missing)}"
            " (or use k2q up for the embedded stack)"
        )


async def run(
    settings: Settings,
    *,
    api: bool,
    worker: bool,
    seed: bool = False,
    sign_in_link: bool = False,
    on_ready: Callable[[str, str | None], None] | None = None,
) -> None:
    """Start the runtime and run the API and/or the worker until SIGINT or SIGTERM.

    The API listens only once every start-up step that requests depend on is done (stores and
    migrations, the demo data and live feed, the first admin, ``K2Q_BOOTSTRAP_API_KEY`` and the
    local CLI key), so a 200 from ``/ready`` means the instance serves authenticated requests.
    ``on_ready(url, login_url)`` is called once the API listens (``("worker", None)`` for a worker);
    ``login_url`` is None when no one-time link was made (see :func:`_first_run`, ``sign_in_link``).
    """
    lock = DataDirLock(settings.stores.data_dir.resolve())
    if api or worker:
        embedded = not (
            settings.stores.clickhouse_url and settings.stores.database_url and settings.stores.redis_url
        )
        if embedded:
            try:
                lock.acquire()
            except Exception as exc:
                raise StartupError(str(exc)) from None
    try:
        if api:
            check_bind(settings)
        runtime = await Runtime.start(settings)
        try:
            await _serve(
                runtime, settings, api=api, worker=worker, seed=seed, sign_in_link=sign_in_link, lock=lock,
                on_ready=on_ready,
            )  # fmt: skip
        finally:
            await runtime.close()
    finally:
        lock.release()


async def _serve(
    runtime: Runtime,
    settings: Settings,
    *,
    api: bool,
    worker: bool,
    seed: bool,
    sign_in_link: bool,
    lock: DataDirLock,
    on_ready: Callable[[str, str | None], None] | None,
) -> None:
    if (
        seed
        and not settings.polygon.api_key
        and settings.seed_demo
        and await runtime.services.catalog.count() == 0
    ):
        log.info("loading synthetic demo data (no POLYGON_API_KEY set)")
        await seed_demo(runtime.services)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (2, 15):  # SIGINT, SIGTERM
        loop.add_signal_handler(signum, stop.set)
    tasks: list[asyncio.Task[Any]] = []
    server: _Server | None = None
    jobs = build_worker(runtime) if worker else None
    if jobs is not None:
        worker_task = asyncio.create_task(jobs.async_run(), name="worker")
        tasks.append(worker_task)
    live = None  # the synthetic live feed: caught up before the API says ready, stopped last
    if seed and settings.seed_demo and settings.live_demo and not settings.polygon.api_key:
        live = await start_live_demo(runtime)
    if api:
        url = settings.server.url
        # Before listening: no 401 after /ready says ok.
        login_url = await _first_run(runtime, lock, url, sign_in_link=sign_in_link)
        server = _Server(server_config(create_app(runtime), settings.server.host, settings.server.port))
        tasks.append(asyncio.create_task(server.serve(), name="api"))
        while not server.started and not tasks[-1].done():  # noqa: ASYNC110 (uvicorn has no started event)
            await asyncio.sleep(0.05)
        if tasks[-1].done():
            await tasks[-1]
            raise StartupError(f"the API could not listen on {settings.server.host}:{settings.server.port}")
        lock.advertise(url)
        if on_ready is not None:
            on_ready(url, login_url)
    elif on_ready is not None:
        on_ready("worker", None)
    waiter: asyncio.Task[Any] = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
    if server is not None:
        server.should_exit = True
    if jobs is not None:  # drained beside the API's requests, within the same grace period
        grace = dt.timedelta(seconds=SHUTDOWN_GRACE_S)
        tasks.append(asyncio.create_task(stop_worker(jobs, worker_task, grace), name="drain"))
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, SystemExit):
            await task
    if live is not None:
        await live.stop()
    waiter.cancel()
    for signum in (2, 15):
        loop.remove_signal_handler(signum)
    for task in done:
        if (
            task is not waiter
            and task.exception() is not None
            and not isinstance(task.exception(), SystemExit)
        ):
            print(f"k2q: {task.get_name()} stopped: {task.exception()}", file=sys.stderr)
