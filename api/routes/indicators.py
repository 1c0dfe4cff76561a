"""``/api/v1/indicators``: the indicator catalog and calculations over stored series."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_202_ACCEPTED

from api.auth.guards import role
from api.auth.principal import principal_of
from api.deps import RuntimeDep
from pipelines.indicators.catalog import catalog
from pipelines.jobs.kinds import JobKind
from pipelines.jobs.submit import submit
from schemas.indicators import IndicatorCalculateRequest, IndicatorInfo
from schemas.jobs import JobAccepted


class IndicatorsController(Controller):
    """Indicators: what can be computed, and computing it."""

    path = "/api/v1/indicators"
    tags = ["indicators"]

    @get("/list", operation_id="listIndicators", opt=role("viewer"))
    async def list_indicators(self) -> list[IndicatorInfo]:
        """Every indicator: TA-Lib's 201 functions (by group) and ours, with parameters, ranges and outputs.

        Each item's ``example`` is a spec chart-data and ``/indicators/calculate`` take; parameters
        go by position (``bbands(20,2,2)``) or by name (``macd(fastperiod=8, slowperiod=21)``).
        """
        return list(catalog())

    @post(
        "/calculate", operation_id="calculateIndicators", status_code=HTTP_202_ACCEPTED, opt=role("analyst")
    )
    async def calculate(
        self, data: JSONBody[IndicatorCalculateRequest], runtime: RuntimeDep, request: Request[Any, Any, Any]
    ) -> JobAccepted:
        """Queue indicators over a whole stored series; each is stored and announced.

        Bad specs (unknown function or parameter, a value out of range) are refused here with a 422
        naming the valid range; a symbol or dataset with no bars is a 404. Follow the job at
        ``status_url``. Outputs already stored at the series' current version are reused.
        """
        await runtime.services.indicator_calculator.plan(data)
        owner = principal_of(request).username
        return await submit(runtime.queue, runtime.services.jobs, JobKind.INDICATORS, data, owner)
