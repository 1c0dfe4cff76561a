"""``/api/v1/stocks/table/{table}/quality``: a dataset's data quality and gaps; re-assessing it."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import QueryParameter

from api.auth.guards import role
from api.deps import ServicesDep
from api.routes.stocks import TablePath
from pipelines.quality.assessor import MAX_GAPS_LISTED
from schemas.quality import DataQuality, DataQualityReport
from schemas.values import parse_time_point


class QualityController(Controller):
    """Data quality of datasets."""

    path = "/api/v1/stocks/table"
    tags = ["stocks"]

    @get("/{table:str}/quality", operation_id="getTableQuality", opt=role("viewer"))
    async def quality(
        self,
        services: ServicesDep,
        table: TablePath,
        from_: Annotated[str | None, QueryParameter(name="from", max_length=40)] = None,
        to: Annotated[str | None, QueryParameter(max_length=40)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_GAPS_LISTED)] = 10_000,
    ) -> DataQualityReport:
        """The dataset's last quality assessment and its gaps between ``from`` and ``to``, oldest first.

        A dataset never assessed is assessed now. ``from``/``to`` take ISO times, dates or epoch ms.
        """
        window = (
            parse_time_point(from_) if from_ else None,
            parse_time_point(to, end_of_day=True) if to else None,
        )
        async with services.work.admit():
            return await services.quality.report(table, *window, limit)

    @post("/{table:str}/quality", operation_id="assessTableQuality", status_code=200, opt=role("analyst"))
    async def assess(self, services: ServicesDep, table: TablePath) -> DataQuality:
        """Assess the dataset's stored bars again (e.g. after bars were added by another fetch)."""
        async with services.work.admit():
            return await services.quality.assess(table)
