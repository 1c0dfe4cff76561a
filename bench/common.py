"""Shared helpers: a benchmark runtime on a temporary data dir, timing, reporting."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa

from api.runtime import Runtime
from api.settings import Settings, StoreSettings
from pipelines.ingest.sources.synthetic import generate_bars
from schemas.bars import SeriesKey

RESULTS = Path(__file__).parent / "results"


async def start_runtime() -> Runtime:
    data_dir = Path(tempfile.mkdtemp(prefix="k2q-bench-"))
    return await Runtime.start(Settings(stores=StoreSettings(data_dir=data_dir)))


def minute_bars(symbol: str, start: dt.date, end: dt.date) -> pa.Table:
    return generate_bars(SeriesKey(symbol=symbol, multiplier=1, timespan="minute"), start, end)


async def timings(fn: Callable[[], Awaitable[Any]], runs: int, warmup: int = 3) -> list[float]:
    """Seconds per call of ``fn``, after ``warmup`` calls."""
    for _ in range(warmup):
        await fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - started)
    return samples


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def report(name: str, rows: list[dict[str, Any]]) -> None:
    """Print ``rows`` as a table and keep them in ``bench/results/<name>.json``."""
    if not rows:
        return
    columns = list(rows[0])
    widths = [max(len(column), *(len(_fmt(row[column])) for row in rows)) for column in columns]
    print(" | ".join(column.ljust(width) for column, width in zip(columns, widths, strict=True)))
    print("-|-".join("-" * width for width in widths))
    for row in rows:
        print(
            " | ".join(_fmt(row[column]).ljust(width) for column, width in zip(columns, widths, strict=True))
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(rows, indent=2, default=str))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


@contextlib.asynccontextmanager
async def admin_client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The app over ``runtime`` in process, called with a fresh admin API key."""
    from api.app import create_app  # the app module is heavy; benches that need no HTTP skip it

    admin = await runtime.auth.ensure_admin()
    key = (await runtime.auth.create_key(admin.username, "bench", "admin", None)).key
    transport = httpx.ASGITransport(app=create_app(runtime), client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://k2q.bench",
        headers={"Authorization": f"Bearer {key}"},
        timeout=300,
    ) as http:
        yield http


async def store_series(runtime: Runtime, ref: SeriesKey, bars: pa.Table, why: str) -> None:
    """Store ``bars`` of ``ref`` through the write path, its rollups built and its dataset registered."""
    from pipelines.series.writes import DatasetExtent

    services = runtime.services
    async with services.writer.holding("synthetic", why) as claim:
        written = await services.writer.write(ref, claim, bars, bump=False)
        assert written.span is not None
        await services.bars.refresh_rollups(ref)
        first, last = written.span
        stats = await services.bars.stats(ref, first, last)
        extent = DatasetExtent(key=ref, source="synthetic", start=first.date(), end=last.date(), stats=stats)
        await services.writer.register([extent], changed=written.span)
