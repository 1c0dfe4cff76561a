"""``k2q stream SYMBOL...``: live minute bars from Polygon into the bar store, a line per bar.

Without a running server the command opens the stores itself and streams in this process. When a
``k2q up`` holds the data directory (chDB belongs to one process), the server streams on the
command's behalf for as long as it runs, and the command prints what the server relays.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import signal
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import click
import msgspec
import pyarrow as pa
from rich.console import Console

from api.lock import local_cli_key, running_server
from api.logs import configure_logging
from api.settings import Settings
from pipelines.errors import PipelineError
from pipelines.ingest.live import LiveRecorder
from pipelines.ingest.sources.feeds import LiveBars
from pipelines.ingest.sources.polygon_rest import PolygonRestSource
from pipelines.ingest.sources.polygon_ws import PolygonStream
from schemas.events import SocketError, StockUpdate, Subscribe, Subscribed
from schemas.values import NEW_YORK, normalize_symbol
from warehouse.errors import WarehouseError

BACKFILL_LINES = 5
"""A backfill of more bars than this prints one summary line per symbol instead of every bar."""

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
_REPLIES: dict[str, type[StockUpdate | Subscribed | SocketError]] = {
    "stock_update": StockUpdate,
    "subscribed": Subscribed,
    "error": SocketError,
}


def bar_line(symbol: str, ts_ms: int, o: float, h: float, low: float, c: float, v: float) -> str:
    """One bar as a Rich line: time (New York), symbol, OHLC and volume, green up, red down."""
    when = dt.datetime.fromtimestamp(ts_ms / 1000, NEW_YORK).strftime("%Y-%m-%d %H:%M ET")
    colour = "green" if c >= o else "red"
    return (
        f"{when}  [bold]{symbol:<6}[/]  O {o:>10.4g}  H {h:>10.4g}  L {low:>10.4g}"
        f"  C [{colour}]{c:>10.4g}[/]  V {v:>12,.0f}"
    )


def _print_bars(batch: Sequence[LiveBars], recorder: LiveRecorder) -> None:
    for item in batch:
        if not item.closed:
            continue
        rows = pa.Table.from_batches([item.bars]).to_pylist()
        if item.backfill and len(rows) > BACKFILL_LINES:
            first, last = rows[0]["ts"], rows[-1]["ts"]
            out.print(
                f"[dim]{item.symbol}: {len(rows):,} missed minute(s) filled in"
                f" ({first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC)[/]"
            )
            rows = rows[-1:]
        for row in rows:
            ts = int(row["ts"].timestamp() * 1000)
            out.print(
                bar_line(item.symbol, ts, row["open"], row["high"], row["low"], row["close"], row["volume"])
            )
        table = recorder.dataset_of(item.symbol)
        if table and item.backfill:
            out.print(f"[dim]{item.symbol} → dataset {table}[/]")


async def _until_signalled(work: Any) -> None:
    """Run ``work`` until it ends or SIGINT/SIGTERM arrives (then cancel it and return)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    task = asyncio.ensure_future(work)
    waiter = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        waiter.cancel()
        stopped = not task.done()
        if stopped:  # by the user
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if not stopped:
        task.result()  # the work ended by itself: raise its failure, if any


async def _stream_here(settings: Settings, symbols: list[str]) -> None:
    """Open the stores in this process and stream into them."""
    from api.runtime import local_runtime

    key = settings.polygon.api_key
    assert key is not None
    async with local_runtime(settings) as runtime:
        services = runtime.services
        recorder = LiveRecorder(
            services.bars,
            services.catalog,
            services.versions,
            services.publisher,
            source="polygon",
            writer=services.writer,
            indicators=services.indicators,
        )
        rest = runtime.sources.get("polygon")
        stream = PolygonStream(
            key,
            symbols,
            url=settings.polygon.ws_url,
            rest=rest if isinstance(rest, PolygonRestSource) else None,
            on_status=lambda line: err.print(f"[dim]{line}[/]"),
        )
        since = await recorder.prepare(symbols)
        for symbol in symbols:
            table = recorder.dataset_of(symbol)
            where = f"dataset {table}" if table else "a new live dataset"
            err.print(f"{symbol}: minute bars go to {where}")
        try:
            async for batch in stream.updates(since):
                await recorder.record(batch)
                _print_bars(batch, recorder)
        finally:
            with contextlib.suppress(Exception):
                await recorder.close()


async def _stream_through(url: str, key: str | None, symbols: list[str]) -> None:
    """Ask the running server to stream ``symbols`` and print the bars it relays."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    ws_url = url.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + "/api/v1/ws"
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        async with connect(ws_url, additional_headers=headers, open_timeout=10) as ws:
            await ws.send(msgspec.json.encode(Subscribe(symbols=symbols, stream=True)).decode())
            async for message in ws:
                raw = msgspec.json.decode(message)
                kind = _REPLIES.get(raw.get("type", "") if isinstance(raw, dict) else "")
                if kind is None:  # other events (job progress) are not ours to print
                    continue
                event = msgspec.convert(raw, kind)
                if isinstance(event, SocketError):
                    raise PipelineError(event.detail)
                if isinstance(event, Subscribed):
                    err.print(f"the server at {url} streams {', '.join(event.streaming)} (Ctrl-C to stop)")
                elif isinstance(event, StockUpdate) and event.closed and event.symbol in symbols:
                    out.print(
                        bar_line(
                            event.symbol,
                            event.ts,
                            event.open,
                            event.high,
                            event.low,
                            event.close,
                            event.volume,
                        )
                    )
    except InvalidStatus as exc:
        raise PipelineError(
            f"the server at {url} refused the socket (HTTP {exc.response.status_code})"
        ) from None
    except (OSError, ConnectionClosed) as exc:
        raise PipelineError(f"lost the server at {url}: {exc}") from None


def register(
    main: click.Group, load_settings: Callable[[], Settings], fail: Callable[[str, int], NoReturn]
) -> None:
    """Add ``k2q stream`` to ``main``."""

    @main.command()
    @click.argument("symbols", nargs=-1, required=True)
    def stream(symbols: tuple[str, ...]) -> None:
        """Stream live minute bars of SYMBOLS from Polygon into the bar store (Ctrl-C stops).

        Each bar is stored once, extends the symbol's current minute dataset (or a new live one)
        and reaches open charts. After a lost connection the missed minutes are fetched over REST.
        """
        settings = load_settings()
        configure_logging(settings.log_format, level=30)
        try:
            tickers = sorted({normalize_symbol(symbol) for symbol in symbols})
        except ValueError as exc:
            fail(str(exc), 2)
        data_dir = settings.stores.data_dir.resolve()
        server = running_server(data_dir)
        if server is not None:
            work: Any = _stream_through(server.url, local_cli_key(data_dir), tickers)
        elif not settings.polygon.api_key:
            fail("k2q stream needs POLYGON_API_KEY (a Polygon / Massive key with WebSocket access)", 2)
        else:
            work = _stream_here(settings, tickers)
        try:
            asyncio.run(_until_signalled(work))
        except (PipelineError, WarehouseError) as exc:
            fail(str(exc), 1)
        except KeyboardInterrupt:
            pass
        except Exception as exc:  # DataDirBusy and other start-up failures: one line, non-zero exit
            fail(str(exc), 1)
