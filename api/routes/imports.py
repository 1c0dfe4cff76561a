"""``POST /api/v1/stocks/import``: a CSV or Parquet file of bars, sent as the request body.

The body is the file itself (``curl --data-binary @bars.csv``), with the series named in the query;
the format is told from the file's first bytes. The body streams to a temporary file (in the
system's temporary directory, ``TMPDIR``) as it arrives, so memory stays flat however large the
upload; this route alone accepts bodies up to :data:`MAX_IMPORT_BYTES`.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final

import msgspec
from litestar import Controller, Request, post
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from api.auth.guards import role
from api.deadline import DEADLINE_OPT
from api.deps import ServicesDep
from api.errors import problem
from pipelines.ingest.file_imports import Importer
from schemas.imports import (
    DEFAULT_IMPORT_TZ,
    MAX_IMPORT_BYTES,
    EpochUnit,
    ImportOptions,
    ImportRejection,
    ImportResult,
    ImportTimespan,
)
from schemas.values import SYMBOL_PATTERN

_WRITE_CHUNK: Final = 1 << 20
_LIMIT_WORDS: Final = f"imports take files of at most {MAX_IMPORT_BYTES // 2**20} MiB"

_FILE_SCHEMA: Final = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)

IMPORT_DEADLINE_S: Final = 900.0
"""An import may take 15 minutes, its upload included (512 MiB at 5 Mbit/s)."""


@dataclass
class _ImportOperation(Operation):
    """The operation with its request body described: the file's bytes (Litestar cannot infer it)."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description=(
                "The file itself (not multipart form data): CSV with a header line, or Parquet."
                f" At most {MAX_IMPORT_BYTES // 2**20} MiB."
            ),
            content={
                media: OpenAPIMediaType(schema=_FILE_SCHEMA)
                for media in ("text/csv", "application/vnd.apache.parquet", "application/octet-stream")
            },
        )


class ImportController(Controller):
    """Bars from a user's own files."""

    path = "/api/v1/stocks"
    tags = ["stocks"]

    @post(
        "/import",
        operation_id="importBars",
        status_code=HTTP_201_CREATED,
        opt={**role("analyst"), DEADLINE_OPT: IMPORT_DEADLINE_S},
        request_max_body_size=MAX_IMPORT_BYTES,
        operation_class=_ImportOperation,
        responses={
            422: ResponseSpec(
                ImportRejection,
                description="The file has problems (listed by line); nothing was stored.",
                media_type="application/problem+json",
            )
        },
    )
    async def import_bars(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        symbol: Annotated[str, QueryParameter(pattern=SYMBOL_PATTERN, max_length=20, description="Ticker")],
        timespan: Annotated[ImportTimespan, QueryParameter(description="Bar width unit")],
        multiplier: Annotated[int, QueryParameter(ge=1, le=10_000, description="Units per bar")] = 1,
        tz: Annotated[
            str,
            QueryParameter(max_length=64, description="IANA zone of date-times written without an offset"),
        ] = DEFAULT_IMPORT_TZ,
        adjusted: Annotated[bool, QueryParameter(description="Whether the prices are split-adjusted")] = True,
        epoch_unit: Annotated[
            EpochUnit, QueryParameter(description="Unit of numeric timestamps; auto tells it from their size")
        ] = "auto",
    ) -> ImportResult:
        """Import a CSV or Parquet file of one symbol's bars as a dataset with source ``file``.

        Columns are matched case-insensitively: a timestamp (``timestamp``, ``time``, ``date``,
        ``datetime``, ``ts``, ``t``, or ``date`` + ``time``), ``open``/``o``, ``high``/``h``,
        ``low``/``l``, ``close``/``c``, and optionally ``volume``/``vol``/``v``, ``vwap``/``vw``,
        ``transactions``/``trades``/``n``. Timestamps may be dates, ISO-8601 date-times (with or
        without an offset) or epoch s/ms/us/ns. Day bars are stored at 00:00 New York time of their
        day. Every row is checked before anything is stored: 422 lists the first problems by line.
        A series stored from another source answers 409; a body over the limit, 413.
        """
        options = msgspec.convert(
            {"symbol": symbol, "timespan": timespan, "multiplier": multiplier, "tz": tz, "adjusted": adjusted,
             "epoch_unit": epoch_unit},
            ImportOptions,
        )  # fmt: skip
        async with spooled_body(request, MAX_IMPORT_BYTES) as path:
            return await Importer(
                services.bars, services.catalog, services.versions, writer=services.writer
            ).run(path, options)


@contextlib.asynccontextmanager
async def spooled_body(request: Request[Any, Any, Any], limit: int) -> AsyncIterator[Path]:
    """Stream the request body into a temporary file (removed afterwards) and yield its path.

    Raises:
        ProblemDetailsException: 413 past ``limit`` bytes; 415 for a multipart form.
    """
    if request.headers.get("content-type", "").lower().startswith("multipart/"):
        raise problem(415, "send the file itself as the request body, not as multipart form data")
    if (request.content_length or 0) > limit:
        raise problem(413, f"the body is {request.content_length:,} bytes; {_LIMIT_WORDS}")
    with tempfile.TemporaryDirectory(prefix="k2q-import-") as folder:
        path = Path(folder) / "upload"
        received = 0
        with path.open("wb") as handle:
            pending = bytearray()
            try:
                async for chunk in request.stream():
                    received += len(chunk)
                    if received > limit:  # the route's own limit stops the stream too; this names ours
                        raise RequestEntityTooLarge
                    pending += chunk
                    if len(pending) >= _WRITE_CHUNK:
                        await asyncio.to_thread(handle.write, bytes(pending))
                        pending.clear()
            except RequestEntityTooLarge:
                raise problem(413, f"the body is larger than {limit:,} bytes; {_LIMIT_WORDS}") from None
            await asyncio.to_thread(handle.write, bytes(pending))
        yield path
