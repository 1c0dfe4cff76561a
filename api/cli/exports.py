"""``k2q export``: datasets to files, through the running server or straight from the stores."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import get_args

import click
import httpx
import msgspec
import pyarrow.parquet as pq

from api.lock import local_cli_key, running_server
from api.settings import Settings
from pipelines.charts.exports import Exporter, LakeSeries, lake_plan, parse_columns
from schemas.datasets import Dataset
from schemas.values import ExportFormat, parse_time_point

Opener = Callable[[str, ExportFormat, str | None, str | None, str | None], AsyncIterator[bytes]]
"""The bytes of one dataset in a format, within ``from``/``to`` (as the export route takes them)."""


def http_opener(http: httpx.AsyncClient) -> Opener:
    """Exports through a server's ``GET /api/v1/stocks/data/{table}`` (``http`` at its root URL)."""

    async def opener(
        table: str, fmt: ExportFormat, lower: str | None, upper: str | None, columns: str | None
    ) -> AsyncIterator[bytes]:
        params = {
            k: v for k, v in {"format": fmt, "from": lower, "to": upper, "columns": columns}.items() if v
        }
        async with http.stream("GET", f"/api/v1/stocks/data/{table}", params=params) as answer:
            if answer.status_code != 200:
                await answer.aread()
                raise RuntimeError(answer.json().get("detail", answer.text))
            async for chunk in answer.aiter_bytes():
                yield chunk

    return opener


def store_opener(exporter: Exporter) -> Opener:
    """Exports straight from the stores, in this process."""

    async def opener(
        table: str, fmt: ExportFormat, lower: str | None, upper: str | None, columns: str | None
    ) -> AsyncIterator[bytes]:
        chunks = await exporter.stream(
            table, fmt, parse_time_point(lower) if lower else None,
            parse_time_point(upper, end_of_day=True) if upper else None, parse_columns(columns),
        )  # fmt: skip
        async for chunk in chunks:
            yield chunk

    return opener


async def _write(chunks: AsyncIterator[bytes], path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with path.open("wb") as handle:
        async for chunk in chunks:
            handle.write(chunk)
            size += len(chunk)
    return size


def _instant(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def export_lake(
    datasets: Sequence[Dataset],
    opener: Opener,
    out: Path,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    columns: str | None = None,
) -> list[tuple[Path, int]]:
    """Write the series of ``datasets`` under ``out`` as Hive-partitioned Parquet (see ``lake_plan``).

    The files of each series written replace whatever an earlier export left of that series (under
    any source), even where the window is narrower; they are written beside them first, so a
    failure leaves the earlier files as they were. A series with no bars in the window, and any
    other file under ``out``, is left alone.
    """
    written: list[tuple[Path, int]] = []
    for series in lake_plan(datasets, start, end):
        written += await _replace_series(series, opener, out, columns)
    return written


async def _replace_series(
    series: LakeSeries, opener: Opener, out: Path, columns: str | None
) -> list[tuple[Path, int]]:
    staged: list[tuple[Path, Path, int]] = []
    partial: Path | None = None
    try:
        for part in series.files:
            final = out / part.path
            partial = final.with_name(f".{final.name}.partial")
            chunks = opener(part.table, "parquet", _instant(part.start), _instant(part.end), columns)
            size = await _write(chunks, partial)
            if pq.read_metadata(partial).num_rows == 0:
                partial.unlink()
                _remove_if_empty(partial.parent, out)
            else:
                staged.append((final, partial, size))
            partial = None
    except BaseException:
        for leftover in [partial, *(staged_partial for _, staged_partial, _ in staged)]:
            if leftover is not None:
                leftover.unlink(missing_ok=True)
                _remove_if_empty(leftover.parent, out)
        raise
    if staged:  # a window without any of the series' bars leaves its files as they are
        _swap_in(series, [(final, staged_partial) for final, staged_partial, _ in staged], out)
    return [(final, size) for final, _, size in staged]


def _swap_in(series: LakeSeries, staged: list[tuple[Path, Path]], out: Path) -> None:
    """Put the staged files in place of the series' earlier ones, wherever an export left them."""
    keep = {final for final, _ in staged}
    for old in out.glob(f"{series.anywhere}/year=*/*.parquet"):
        if old not in keep:
            old.unlink()
    for final, partial in staged:
        partial.replace(final)
    for directory in sorted(out.glob(f"{series.anywhere}/year=*")) + sorted(out.glob(series.anywhere)):
        _remove_if_empty(directory, out)


def _remove_if_empty(directory: Path, root: Path) -> None:
    """Remove ``directory`` and then its parents below ``root`` while they are empty."""
    while directory != root and root in directory.parents:
        try:
            directory.rmdir()
        except OSError:  # not empty (or not ours to remove)
            return
        directory = directory.parent


async def _export(
    datasets: list[Dataset], opener: Opener, fmt: ExportFormat, out: Path, partitioned: bool,
    window: tuple[str | None, str | None], columns: str | None,
) -> list[tuple[Path, int]]:  # fmt: skip
    if partitioned:
        start = parse_time_point(window[0]) if window[0] else None
        end = parse_time_point(window[1], end_of_day=True) if window[1] else None
        return await export_lake(datasets, opener, out, start, end, columns)
    (dataset,) = datasets
    return [(out, await _write(opener(dataset.table, fmt, *window, columns), out))]


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
        "--partitioned",
        is_flag=True,
        help="Hive-partitioned Parquet, one series per partition: OUT/width=…/adjusted=…/source=…"
        "/symbol=…/year=…/*.parquet (exporting a series again replaces its files).",
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
        if not partitioned and (every or len(tables) != 1):
            fail("name one dataset, or add --partitioned to write several (or --all)", 2)
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

            return await _export(datasets, http_opener(http), fmt, out, partitioned, window, columns)

    async def in_process() -> list[tuple[Path, int]]:
        from api.runtime import local_runtime

        async with local_runtime(settings) as runtime:
            datasets = _pick(await runtime.services.catalog.all(), tables, every)
            return await _export(
                datasets, store_opener(runtime.services.exporter), fmt, out, partitioned, window, columns
            )

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
