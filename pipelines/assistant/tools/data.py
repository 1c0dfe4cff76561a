"""Tools over stored data: datasets, bars, indicators, read-only SQL, and fetching more bars."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any

import msgspec
import pyarrow as pa

from pipelines.assistant.tools.base import Tool, ToolContext, ToolFailed, ToolOutput
from schemas.bars import ChartDataRequest
from schemas.chat import ChartReference, IndicatorReference, RangeReference
from schemas.datasets import FetchRequest
from schemas.values import Symbol, Timeframe
from warehouse.clickhouse.assistant_sql import run_readonly
from warehouse.clickhouse.bars import epoch_ms

Limit = Annotated[int, msgspec.Meta(ge=1, le=200)]


def _number(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else round(value, 6)
    return value


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = table.to_pylist()
    for row in rows:
        for key, value in row.items():
            if isinstance(value, dt.datetime):
                row[key] = value.isoformat()
            else:
                row[key] = _number(value)
    return rows


class NoArgs(msgspec.Struct, forbid_unknown_fields=True):
    """No arguments."""


async def _list_datasets(ctx: ToolContext, _: NoArgs) -> ToolOutput:
    datasets = await ctx.services.datasets.all()
    result = [
        {
            "table": d.table,
            "symbol": d.symbol,
            "timeframe": f"{d.multiplier}{d.timespan}",
            "adjusted": d.adjusted,
            "source": d.source,
            "bars": d.total_records,
            "first_bar": d.first_bar.isoformat() if d.first_bar else None,
            "last_bar": d.last_bar.isoformat() if d.last_bar else None,
        }
        for d in datasets[:200]
    ]
    return ToolOutput(
        result={"datasets": result, "total": len(datasets)}, summary=f"{len(datasets)} datasets"
    )


class DescribeArgs(msgspec.Struct, forbid_unknown_fields=True):
    """A dataset, by its table name (from list_datasets)."""

    table: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


async def _describe_dataset(ctx: ToolContext, args: DescribeArgs) -> ToolOutput:
    services = ctx.services
    datasets = {d.table: d for d in await services.datasets.all()}
    dataset = datasets.get(args.table)
    if dataset is None:
        raise ToolFailed(f"no dataset named {args.table!r}; list_datasets names them")
    async with services.work.admit():
        report = await services.quality.report(args.table, None, None, 20)
    quality = msgspec.to_builtins(report.quality)
    result = {
        "table": dataset.table,
        "symbol": dataset.symbol,
        "timespan": dataset.timespan,
        "multiplier": dataset.multiplier,
        "adjusted": dataset.adjusted,
        "source": dataset.source,
        "bars": dataset.total_records,
        "first_bar": dataset.first_bar.isoformat() if dataset.first_bar else None,
        "last_bar": dataset.last_bar.isoformat() if dataset.last_bar else None,
        "quality": quality,
        "largest_gaps": msgspec.to_builtins(report.gaps[:20]),
    }
    references: list[ChartReference] = []
    first, last = dataset.first_bar, dataset.last_bar
    if first is not None and last is not None and dataset.timespan in ("day", "week", "month"):
        references.append(
            RangeReference(
                symbol=dataset.symbol,
                timeframe="1d",
                start=epoch_ms(first),
                end=epoch_ms(last),
                label=dataset.table,
            )
        )
    return ToolOutput(
        result=result, summary=f"{dataset.table}: {dataset.total_records} bars", references=references
    )


class ReadBarsArgs(msgspec.Struct, forbid_unknown_fields=True):
    """Stored bars of a symbol: the last ``limit`` bars up to ``to`` (default: the latest)."""

    symbol: Symbol
    timeframe: Timeframe = "1d"
    to: Annotated[str, msgspec.Meta(max_length=40, description="ISO date or date-time")] | None = None
    limit: Limit = 30
    indicators: Annotated[
        list[str], msgspec.Meta(max_length=5, description="indicator specs to add as columns, e.g. rsi(14)")
    ] = msgspec.field(default_factory=list)


async def _last_rows(ctx: ToolContext, args: ReadBarsArgs) -> tuple[pa.Table, str]:
    services = ctx.services
    request = ChartDataRequest(
        symbol=args.symbol.upper(),
        timeframe=args.timeframe,
        to=args.to,
        max_points=50_000,
        indicators=list(args.indicators),
    )
    plan = await services.charts.plan(request)
    if plan.end is not None:
        # ask only for about the last ``limit`` bars' worth of time, widened until enough come back
        span = plan.end - (plan.start or plan.end)
        step = max(span / 16, dt.timedelta(days=1))
        while True:
            start = max(plan.start or plan.end, plan.end - step)
            narrowed = msgspec.structs.replace(plan, start=start)
            async with services.work.admit():
                result, meta = await services.charts.chart_slice(narrowed, request)
            if result.table.num_rows >= args.limit or start == plan.start:
                break
            step *= 4
    else:
        async with services.work.admit():
            result, meta = await services.charts.chart_slice(plan, request)
    table = result.table.slice(max(0, result.table.num_rows - args.limit))
    return table, meta.bucket


async def _read_bars(ctx: ToolContext, args: ReadBarsArgs) -> ToolOutput:
    table, bucket = await _last_rows(ctx, args)
    rows = _rows(table)
    references: list[Any] = []
    if table.num_rows:
        ts = table.column("ts")
        start, end = ts[0].as_py(), ts[-1].as_py()
        references.append(
            RangeReference(
                symbol=args.symbol.upper(),
                timeframe=args.timeframe,
                start=epoch_ms(start),
                end=epoch_ms(end),
                label=f"{len(rows)} bars",
            )
        )
    summary = f"{len(rows)} {bucket} bars of {args.symbol.upper()}"
    return ToolOutput(
        result={"symbol": args.symbol.upper(), "bucket": bucket, "bars": rows},
        summary=summary,
        references=references,
    )


class IndicatorArgs(msgspec.Struct, forbid_unknown_fields=True):
    """An indicator over a stored series, and its last ``last`` values."""

    symbol: Symbol
    spec: Annotated[
        str, msgspec.Meta(min_length=1, max_length=200, description="e.g. rsi(14), sma(50), macd(12,26,9)")
    ]
    timeframe: Timeframe = "1d"
    last: Limit = 10


async def _calculate_indicator(ctx: ToolContext, args: IndicatorArgs) -> ToolOutput:
    table, bucket = await _last_rows(
        ctx,
        ReadBarsArgs(symbol=args.symbol, timeframe=args.timeframe, limit=args.last, indicators=[args.spec]),
    )
    columns = [name for name in table.column_names if name.startswith("ind:")]
    if not columns:
        raise ToolFailed(f"the indicator {args.spec!r} gave no values")
    keep = table.select(["ts", "close", *columns])
    rows = _rows(keep)
    symbol = args.symbol.upper()
    latest = {name: rows[-1][name] for name in columns} if rows else {}
    return ToolOutput(
        result={"symbol": symbol, "bucket": bucket, "spec": args.spec, "latest": latest, "values": rows},
        summary=f"{args.spec} of {symbol}: {len(rows)} values",
        references=[
            IndicatorReference(symbol=symbol, timeframe=args.timeframe, spec=args.spec, label=args.spec)
        ],
    )


class SqlArgs(msgspec.Struct, forbid_unknown_fields=True):
    """One read-only ClickHouse SELECT over the bar store (bars, indicator_values, projection_values)."""

    sql: Annotated[str, msgspec.Meta(min_length=1, max_length=10_000)]
    max_rows: Annotated[int, msgspec.Meta(ge=1, le=1_000)] = 200


async def _query_sql(ctx: ToolContext, args: SqlArgs) -> ToolOutput:

    result = await run_readonly(ctx.services.bars.clickhouse, args.sql, max_rows=args.max_rows)
    data = msgspec.to_builtins(result)
    return ToolOutput(
        result=data, summary=f"{len(result.rows)} rows" + (" (truncated)" if result.truncated else "")
    )


class FetchArgs(msgspec.Struct, forbid_unknown_fields=True):
    """Backfill bars of symbols from the market-data source into the store (writes; asks the user)."""

    symbols: Annotated[list[Symbol], msgspec.Meta(min_length=1, max_length=50)]
    start: dt.date
    end: dt.date
    timespan: Annotated[str, msgspec.Meta(pattern="^(minute|hour|day|week|month)$")] = "day"
    multiplier: Annotated[int, msgspec.Meta(ge=1, le=60)] = 1
    source: Annotated[str, msgspec.Meta(pattern="^(polygon|synthetic)$")] | None = None
    """Default: Polygon when a key is configured, else the synthetic (not market) source."""


async def _fetch_bars(ctx: ToolContext, args: FetchArgs) -> ToolOutput:
    services = ctx.services
    source = args.source or ("polygon" if "polygon" in services.fetcher.sources else "synthetic")
    try:
        request = msgspec.convert(
            {
                "symbols": [s.upper() for s in args.symbols],
                "from": args.start.isoformat(),
                "to": args.end.isoformat(),
                "timespan": args.timespan,
                "multiplier": args.multiplier,
                "source": source,
            },
            FetchRequest,
        )
    except msgspec.ValidationError as exc:
        raise ToolFailed(str(exc)) from None
    services.fetcher.check(request)
    job_id = await ctx.jobs.record("fetch", request)
    ran = await ctx.jobs.run("fetch", job_id, request)
    status = await services.jobs.get(job_id)
    per_symbol = [
        {"symbol": p.symbol, "bars": p.bars, "table": p.table, "error": p.error} for p in status.symbols
    ]
    result = {
        "job_id": job_id,
        "state": ran.state,
        "source": source,
        "symbols": per_symbol,
        "error": ran.error,
    }
    return ToolOutput(result=result, summary=ran.message or f"fetch {ran.state}")


TOOLS: list[Tool[Any]] = [
    Tool(
        "list_datasets",
        "List the stored datasets (symbol, timeframe, range, bar count, source).",
        NoArgs,
        _list_datasets,
    ),
    Tool(
        "describe_dataset",
        "Describe one dataset: its range, bar count, source, and data quality (gaps, largest gaps).",
        DescribeArgs,
        _describe_dataset,
    ),
    Tool(
        "read_bars",
        "Read the last bars (OHLCV) of a stored series, optionally with indicator columns.",
        ReadBarsArgs,
        _read_bars,
    ),
    Tool(
        "calculate_indicator",
        "Calculate an indicator over a stored series and read its most recent values.",
        IndicatorArgs,
        _calculate_indicator,
    ),
    Tool(
        "query_sql",
        "Run one read-only ClickHouse SELECT over the bar store (bars, indicator_values, projection_values);"
        " rows and time are budgeted.",
        SqlArgs,
        _query_sql,
    ),
    Tool(
        "fetch_bars",
        "Backfill bars of symbols for a date range from the market-data source into the store.",
        FetchArgs,
        _fetch_bars,
        role="analyst",
        writes=True,
    ),
]
