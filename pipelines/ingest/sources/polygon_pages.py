"""Polygon aggregates pages: their wire format, and decoding them into Arrow columns.

A page's ``results`` array (up to 50,000 flat objects) is made newline-delimited with one
``replace`` and parsed by Arrow's C++ JSON reader, which releases the GIL; the small rest of the
page goes to msgspec. A page that path cannot take is decoded whole by msgspec, which also says
exactly what is wrong with it.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Final

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.json as pa_json

from schemas.bars import BAR_ARROW_SCHEMA, TS_TYPE
from schemas.values import NEW_YORK


class Agg(msgspec.Struct, gc=False):
    """One aggregate as Polygon sends it (``l`` renamed: ruff rejects the name)."""

    t: int
    o: float
    h: float
    low: float = msgspec.field(name="l")
    c: float
    v: float
    vw: float | None = None
    n: int | None = None


class AggsPage(msgspec.Struct, gc=False):
    """The parts of an aggregates response the client relies on."""

    status: str
    results_count: int = msgspec.field(default=0, name="resultsCount")
    results: list[Agg] = msgspec.field(default_factory=list)
    next_url: str | None = None


class GroupedAgg(msgspec.Struct, gc=False):
    """One ticker's day in a grouped-daily answer (``t`` marks the end of the day's window)."""

    ticker: str = msgspec.field(name="T")
    o: float = 0.0
    h: float = 0.0
    low: float = msgspec.field(default=0.0, name="l")
    c: float = 0.0
    v: float = 0.0
    vw: float | None = None
    n: int | None = None


class GroupedPage(msgspec.Struct, gc=False):
    """A grouped-daily answer: one page, no ``next_url``; a day without trading has no ``results``."""

    status: str
    results_count: int = msgspec.field(default=0, name="resultsCount")
    results: list[GroupedAgg] = msgspec.field(default_factory=list)


class ErrorBody(msgspec.Struct):
    """An error answer: ``error`` (401, 429) or ``message`` (403, 400) carries the reason."""

    status: str | None = None
    error: str | None = None
    message: str | None = None


PAGE_DECODER: Final = msgspec.json.Decoder(AggsPage)
GROUPED_DECODER: Final = msgspec.json.Decoder(GroupedPage)

_PRICES: Final = [pa.field(name, pa.float64()) for name in ("o", "h", "l", "c", "v", "vw")]
AGG_JSON: Final = pa.schema([pa.field("t", pa.int64()), *_PRICES, pa.field("n", pa.int64())])
GROUPED_JSON: Final = pa.schema([pa.field("T", pa.string()), *AGG_JSON])
_REQUIRED: Final = ("t", "o", "h", "l", "c", "v")
DECODERS: Final = max(2, os.cpu_count() or 2)
"""Pages decoded at once: more threads than cores only hold more pages in memory."""
_JSON_READ: Final = pa_json.ReadOptions(use_threads=False, block_size=1 << 20)


@dataclass(frozen=True)
class Page:
    """A decoded page: its rows (``t`` … ``n``, plus ``T`` on grouped pages) and the next page."""

    rows: pa.Table
    next_url: str | None


ERROR_DECODER: Final = msgspec.json.Decoder(ErrorBody)

MARKET_SCHEMA: Final = pa.schema([pa.field("symbol", pa.string(), nullable=False), *BAR_ARROW_SCHEMA])
"""A whole market's day: a ``symbol`` column, then the bar columns."""


def split_results(body: bytes) -> tuple[bytes, pa.Buffer] | None:
    """The parts of a page: the envelope (``results`` emptied) and the results as newline-delimited JSON.

    Result objects are flat (numbers, and a ticker on grouped pages), so ``},{`` only occurs between
    them and the array ends at the first ``]``: one ``replace`` makes the objects newline-delimited,
    and the results are handed on without another copy. None when the body is not laid out so.
    """
    delimited = body.replace(b"},{", b"}\n{")
    key = delimited.find(b'"results"')
    if key < 0:
        return body, pa.py_buffer(b"")
    start = delimited.find(b"[", key)
    end = delimited.find(b"]", start)
    if start < 0 or end < 0 or delimited[key + 9 : start].strip() != b":":
        return None
    envelope = delimited[: start + 1] + delimited[end:]
    return envelope, pa.py_buffer(delimited).slice(start + 1, end - start - 1)


def read_rows(results: pa.Buffer, schema: pa.Schema) -> pa.Table | None:
    """Newline-delimited result objects as columns, parsed by Arrow's C++ JSON reader off the GIL.

    Returns None when they are not what the schema says (the caller then decodes with msgspec,
    which names what is wrong).
    """
    options = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    try:
        rows = pa_json.read_json(pa.BufferReader(results), _JSON_READ, options)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    required = ("T", *_REQUIRED) if "T" in schema.names else _REQUIRED
    if any(rows.column(name).null_count for name in required):
        return None
    return rows


def rows_of(aggs: list[Agg] | list[GroupedAgg], schema: pa.Schema) -> pa.Table:
    """Decoded aggregates as the columns :func:`read_rows` returns (the slow, exact path)."""
    columns = {
        "t": pa.array([getattr(a, "t", 0) for a in aggs], pa.int64()),
        "o": pa.array([a.o for a in aggs], pa.float64()),
        "h": pa.array([a.h for a in aggs], pa.float64()),
        "l": pa.array([a.low for a in aggs], pa.float64()),
        "c": pa.array([a.c for a in aggs], pa.float64()),
        "v": pa.array([a.v for a in aggs], pa.float64()),
        "vw": pa.array([a.vw for a in aggs], pa.float64()),
        "n": pa.array([a.n for a in aggs], pa.int64()),
    }
    if "T" in schema.names:
        columns["T"] = pa.array([a.ticker for a in aggs if isinstance(a, GroupedAgg)], pa.string())
    return pa.table(columns).select(schema.names)


def to_bars(rows: pa.Table, ts: pa.Array | pa.ChunkedArray | None = None) -> pa.Table:
    """Page rows as :data:`BAR_ARROW_SCHEMA` (``ts`` from ``t`` unless given)."""
    return pa.table(
        [
            rows.column("t").cast(TS_TYPE) if ts is None else ts,
            rows.column("o"),
            rows.column("h"),
            rows.column("l"),
            rows.column("c"),
            rows.column("v"),
            rows.column("vw"),
            rows.column("n").cast(pa.uint32()),
        ],
        schema=BAR_ARROW_SCHEMA,
    )


def to_market_table(day: dt.date, rows: pa.Table) -> pa.Table:
    """A grouped-daily page as :data:`MARKET_SCHEMA`, stamped at ``day``'s New York midnight.

    The endpoint stamps each bar at the end of the day's window; the per-ticker endpoint stamps
    day bars at the start of the day. Both must be the same bar in the store, so the start wins.
    """
    midnight = int(dt.datetime.combine(day, dt.time(), NEW_YORK).timestamp() * 1000)
    ts = pa.array(np.full(rows.num_rows, midnight, dtype=np.int64)).cast(TS_TYPE)
    bars = to_bars(rows, ts)
    return pa.Table.from_arrays([rows.column("T"), *bars.columns], schema=MARKET_SCHEMA)
