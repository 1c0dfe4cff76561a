"""``/api/v1/stocks``: fetch bars, list, page and delete datasets, chart slices."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.response import Stream
from litestar.status_codes import HTTP_202_ACCEPTED

from api.auth.guards import role
from api.auth.principal import principal_of
from api.deadline import DEADLINE_OPT
from api.deps import RuntimeDep, ServicesDep
from api.slices import chart_data as answer_chart_data
from pipelines.charts.exports import MEDIA_TYPES, parse_columns
from pipelines.jobs.kinds import JobKind
from pipelines.jobs.submit import submit
from schemas.bars import BarPage, ChartDataRequest
from schemas.datasets import Dataset, DeletedDataset, FetchRequest
from schemas.jobs import JobAccepted
from schemas.values import DATASET_PATTERN, ExportFormat, parse_time_point

TablePath = Annotated[str, PathParameter(pattern=DATASET_PATTERN, max_length=120, description="Dataset name")]


class StocksController(Controller):
    """Bars and datasets."""

    path = "/api/v1/stocks"
    tags = ["stocks"]

    @post("/fetch", operation_id="fetchStocks", status_code=HTTP_202_ACCEPTED, opt=role("analyst"))
    async def fetch(
        self, data: JSONBody[FetchRequest], runtime: RuntimeDep, request: Request[Any, Any, Any]
    ) -> JobAccepted:
        """Queue a fetch of bars for symbols, or with ``market`` every US stock; each becomes a dataset.

        Bad dates, timespans or sources are refused here (422) with the reason. Follow the job at
        ``status_url``; ``POST /api/v1/jobs/{job_id}/cancel`` stops it.
        """
        runtime.services.fetcher.check(data)
        owner = principal_of(request).username
        return await submit(runtime.queue, runtime.services.jobs, JobKind.FETCH, data, owner)

    @get("/tables", operation_id="listTables", opt=role("viewer"))
    async def tables(self, services: ServicesDep) -> list[Dataset]:
        """Every dataset with its bar count and date range."""
        return await services.datasets.all()

    @get(
        "/data/{table:str}",
        operation_id="getTableData",
        opt={**role("viewer"), DEADLINE_OPT: None},  # a download streams for as long as the file is
    )
    async def data(
        self,
        services: ServicesDep,
        table: TablePath,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000_000)] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=10_000)] = 500,
        format: Annotated[ExportFormat | None, QueryParameter(description="Stream a file instead")] = None,
        from_: Annotated[str | None, QueryParameter(name="from", max_length=40)] = None,
        to: Annotated[str | None, QueryParameter(max_length=40)] = None,
        columns: Annotated[str | None, QueryParameter(max_length=200)] = None,
    ) -> BarPage | Stream:
        """A page of a dataset's raw bars, oldest first; with ``format``, the whole window as a file.

        ``format=parquet|arrow|csv|json`` streams ``ts`` (UTC) and the stored columns (or ``columns``,
        comma-separated) between ``from`` and ``to`` (as in chart-data), with bounded memory.
        """
        if format is None:
            async with services.work.admit():
                return await services.datasets.page(table, offset, limit)
        chunks = await services.exporter.stream(
            table,
            format,
            parse_time_point(from_) if from_ else None,
            parse_time_point(to, end_of_day=True) if to else None,
            parse_columns(columns),
        )
        media_type, extension = MEDIA_TYPES[format]
        disposition = f'attachment; filename="{table}.{extension}"'
        return Stream(chunks, media_type=media_type, headers={"Content-Disposition": disposition})

    @delete("/table/{table:str}", operation_id="deleteTable", status_code=200, opt=role("admin"))
    async def delete_table(self, services: ServicesDep, table: TablePath) -> DeletedDataset:
        """Delete a dataset and the bars that no other dataset covers."""
        return await services.datasets.delete(table)

    @post(
        "/chart-data",
        operation_id="chartData",
        opt={**role("viewer"), "audit": False},  # a read, sent as POST for its JSON body
        status_code=200,
        responses={},
        description="OHLCV for a chart as an Arrow IPC stream (JSON when the client accepts only JSON).",
    )
    async def chart_data(
        self, data: JSONBody[ChartDataRequest], runtime: RuntimeDep, request: Request[Any, Any, Any]
    ) -> Response[bytes]:
        """OHLCV of a symbol or dataset over a window, aggregated to at most ``max_points`` bars."""
        return await answer_chart_data(runtime, request, data)
