"""Chart slices on the wire: an Arrow IPC stream, or JSON when the client asks only for JSON."""

from __future__ import annotations

from typing import Any, Final

import msgspec
import pyarrow as pa
from litestar import Request, Response

from schemas.bars import (
    ARROW_STREAM_MEDIA_TYPE,
    CHART_SLICE_ARROW_SCHEMA,
    ChartBar,
    ChartSliceJson,
    ChartSliceMeta,
)

META_PREFIX: Final = "k2q."


def wants_json(request: Request[Any, Any, Any]) -> bool:
    """Whether the client accepts JSON and not an Arrow stream."""
    accept = request.headers.get("accept", "")
    return "application/json" in accept and ARROW_STREAM_MEDIA_TYPE not in accept


EXPOSED_HEADERS: Final = (
    "X-K2Q-Timeframe",
    "X-K2Q-Bucket",
    "X-K2Q-Source-Series",
    "X-K2Q-Rows",
    "X-K2Q-Truncated",
    "X-K2Q-Adjusted",
    "X-K2Q-Session",
    "X-K2Q-Cache",
    "ETag",
)


def slice_headers(meta: ChartSliceMeta) -> dict[str, str]:
    """What the server did, as response headers (the browser reads them without decoding)."""
    return {
        "X-K2Q-Timeframe": meta.timeframe,
        "X-K2Q-Bucket": meta.bucket,
        "X-K2Q-Source-Series": meta.source_series,
        "X-K2Q-Rows": str(meta.rows),
        "X-K2Q-Truncated": "true" if meta.truncated else "false",
        "X-K2Q-Adjusted": "true" if meta.adjusted else "false",
        "X-K2Q-Session": meta.session,
        "Access-Control-Expose-Headers": ", ".join(EXPOSED_HEADERS),
    }


def encode_stream(table: pa.Table, meta: ChartSliceMeta) -> bytes:
    """Encode ``table`` as one Arrow IPC stream with ``meta`` in the schema metadata."""
    metadata = {f"{META_PREFIX}{key}": str(value) for key, value in msgspec.to_builtins(meta).items()}
    table = table.replace_schema_metadata(metadata)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    stream: bytes = sink.getvalue().to_pybytes()
    return stream


def slice_response(as_json: bool, table: pa.Table, meta: ChartSliceMeta) -> Response[bytes]:
    """The chart-data answer, as JSON or as an Arrow stream (see :func:`wants_json`).

    Encoding a large slice takes a while: the chart route runs this in the work pool.
    """
    headers = slice_headers(meta)
    if as_json:
        ts = table.column("ts").cast(pa.int64()).to_pylist()
        columns = [table.column(name).to_pylist() for name in ("open", "high", "low", "close", "volume")]
        bars = [ChartBar(t, *values) for t, *values in zip(ts, *columns, strict=True)]
        joined = {
            name: table.column(name).to_pylist()
            for name in table.column_names
            if name not in CHART_SLICE_ARROW_SCHEMA.names
        }
        body = msgspec.json.encode(ChartSliceJson(meta=meta, bars=bars, series=joined))
        return Response(body, media_type="application/json", headers=headers)
    return Response(encode_stream(table, meta), media_type=ARROW_STREAM_MEDIA_TYPE, headers=headers)
