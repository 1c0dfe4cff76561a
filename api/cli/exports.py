"""``k2q export``: datasets to files, through the running server or straight from the stores."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import get_args

import click
import httpx
import msgspec
import pyarrow.parquet as pq

from api.lock import local_cli_key, running_server
from api.settings import Settings
from pipelines.charts.exports import parse_columns
from schemas.datasets import Dataset
from schemas.values import ExportFormat, parse_time_point

Opener = Callable[[str, ExportFormat, str | None, str | None, str | None], AsyncIterator[bytes]]


async def _write(chunks: AsyncIterator[bytes], path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with path.open("wb") as handle:
        async for chunk in chunks:
            handle.write(chunk)
            size += len(chunk)
    return size


async def _export(
    datasets: list[Dataset], opener: Opener, fmt: ExportFormat, out: Path, partitioned: bool,
    window: tuple[str | None, str | None], columns: str | None,
) -> list[tuple[Path, int]]:  # fmt: skip
    written: list[tuple[Path, int]] = []
    for dataset in datasets:
        if not partitioned:
            written.append((out, await _write(opener(dataset.table, fmt, *window, columns), out)))
            continue
        first, last = dataset.date_range.from_.year, dataset.date_range.to.year
        for year in range(first, last + 1):
            lower = max(dt.date(year, 1, 1), dataset.date_range.from_).isoformat()
            upper = min(dt.date(year, 12, 31), dataset.date_range.to).isoformat()
            if window[0]:
                lower = max(lower, window[0][:10])
            if window[1]:
                upper = min(upper, window[1][:10])
            if lower > upper:
                continue
            path = out / f"symbol={dataset.symbol}" / f"year={year}" / f"{dataset.table}.parquet"
            size = await _write(opener(dataset.table, fmt, lower, upper, columns), path)
            if pq.read_metadata(path).num_rows == 0:
                path.unlink()
                continue
            written.append((path, size))
    return written


def register(
    main: click.Group, load_settings: Callable[[], Settings], fail: Callable[[str, int], None]
) -> None:
    """Add ``k2q export`` to ``main``."""

    @main.command()
    @click.argument("tables", nargs=-1)
    @click.option("--all", "every", is_flag=True, help="Every dataset (whole-universe export).")
    @click.option(
        "--format", "fmt", type=click.Choice(get_args(ExportFormat)), default="parquet", show_default=True
    )
    @click.option(
        "--out", required=True, type=click.Path(path_type=Path), help="File, or directory with --partitioned."
    )
    @click.option(
        "--partitioned", is_flag=True, help="Hive-partitioned Parquet: OUT/symbol=…/year=…/*.parquet."
    )
    @click.option("--from", "from_", help="First instant (ISO date or date-time, UTC) to export.")
    @click.option("--to", help="Last instant (a bare date includes that day).")
    @click.option("--columns", help="Comma-separated columns (ts always comes first).")
    def export(
        tables: tuple[str, ...], every: bool, fmt: ExportFormat, out: Path, partitioned: bool,
        from_: str | None, to: str | None, columns: str | None,
    ) -> None:  # fmt: skip
        """Write datasets to a file, or a Hive-partitioned Parquet dataset, with bounded memory."""
        settings = load_settings()
        if partitioned and fmt != "parquet":
            fail("--partitioned writes Parquet; drop --format or use --format parquet", 2)
        if not every and len(tables) != 1 and not partitioned:
            fail("name one dataset (or several with --partitioned, or --all)", 2)
        try:
            for value in (from_, to):
                if value:
                    parse_time_point(value)
            parse_columns(columns)
        except Exception as exc:
            fail(str(exc), 2)
        written = _run(settings, list(tables), every, fmt, out, partitioned, (from_, to), columns, fail)
        total = sum(size for _, size in written)
        click.echo(
            f"wrote {len(written)} file(s), {total:,} bytes"
            + (f" under {out}" if partitioned else f" to {out}")
        )


def _run(
    settings: Settings, tables: list[str], every: bool, fmt: ExportFormat, out: Path, partitioned: bool,
    window: tuple[str | None, str | None], columns: str | None, fail: Callable[[str, int], None],
) -> list[tuple[Path, int]]:  # fmt: skip
    data_dir = settings.stores.data_dir.resolve()
    server = running_server(data_dir)

    async def through_server() -> list[tuple[Path, int]]:
        assert server is not None
        key = local_cli_key(data_dir)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        timeout = httpx.Timeout(30, read=300)  # a long export streams steadily; a stall is a failure
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=timeout) as http:
            listed = await http.get("/api/v1/stocks/tables")
            listed.raise_for_status()
            datasets = _pick(msgspec.convert(listed.json(), list[Dataset]), tables, every)

            async def opener(
                table: str, f: ExportFormat, lo: str | None, hi: str | None, cols: str | None
            ) -> AsyncIterator[bytes]:
                params = {k: v for k, v in {"format": f, "from": lo, "to": hi, "columns": cols}.items() if v}
                async with http.stream("GET", f"/api/v1/stocks/data/{table}", params=params) as answer:
                    if answer.status_code != 200:
                        await answer.aread()
                        raise RuntimeError(answer.json().get("detail", answer.text))
                    async for chunk in answer.aiter_bytes():
                        yield chunk

            return await _export(datasets, opener, fmt, out, partitioned, window, columns)

    async def in_process() -> list[tuple[Path, int]]:
        from api.runtime import local_runtime

        async with local_runtime(settings) as runtime:
            datasets = _pick(await runtime.services.catalog.all(), tables, every)
            exporter = runtime.services.exporter

            async def opener(
                table: str, f: ExportFormat, lo: str | None, hi: str | None, cols: str | None
            ) -> AsyncIterator[bytes]:
                chunks = await exporter.stream(
                    table, f, parse_time_point(lo) if lo else None,
                    parse_time_point(hi, end_of_day=True) if hi else None, parse_columns(cols),
                )  # fmt: skip
                async for chunk in chunks:
                    yield chunk

            return await _export(datasets, opener, fmt, out, partitioned, window, columns)

    try:
        return asyncio.run(through_server() if server else in_process())
    except Exception as exc:
        fail(str(exc), 1)
        raise


def _pick(datasets: list[Dataset], tables: list[str], every: bool) -> list[Dataset]:
    if every:
        return datasets
    by_name = {dataset.table: dataset for dataset in datasets}
    missing = [name for name in tables if name not in by_name]
    if missing:
        raise LookupError(f"no dataset named {', '.join(missing)}")
    return [by_name[name] for name in tables]
