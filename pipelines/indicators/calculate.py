"""Indicator calculations: a request over a stored series resolved, computed and stored, events published."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from pipelines.charts.slices import ChartSlices
from pipelines.indicators.outputs import IndicatorOutputs, OutputState
from pipelines.indicators.specs import IndicatorSpec, parse_indicator
from pipelines.publish import EventPublisher
from schemas.bars import ChartDataRequest, SeriesKey
from schemas.indicators import IndicatorCalculateRequest
from schemas.values import Session


class CalculationPlan(msgspec.Struct, frozen=True, kw_only=True):
    """A calculate request resolved: the stored series, the bucket width, the session, the specs."""

    ref: SeriesKey
    timeframe: str
    session: Session
    specs: tuple[IndicatorSpec, ...]


class IndicatorCalculator:
    """Runs ``POST /indicators/calculate`` requests (in the worker, as jobs)."""

    def __init__(self, charts: ChartSlices, outputs: IndicatorOutputs, publisher: EventPublisher) -> None:
        self.charts = charts
        self.outputs = outputs
        self.publisher = publisher

    async def plan(self, request: IndicatorCalculateRequest) -> CalculationPlan:
        """Resolve ``request`` as chart-data resolves a series (the route calls this before queueing).

        Raises:
            InvalidIndicator: a spec is malformed.
            NotFound: no bars are stored for the symbol or dataset.
            InvalidQuery: neither or both of ``symbol`` and ``table``, or a timeframe the series cannot serve.
        """
        specs = tuple({spec.text: spec for spec in map(parse_indicator, request.indicators)}.values())
        chart = ChartDataRequest(
            symbol=request.symbol,
            table=request.table,
            timeframe=request.timeframe,
            adjusted=request.adjusted,
            session=request.session,
        )
        plan = await self.charts.plan(chart)
        return CalculationPlan(ref=plan.ref, timeframe=plan.timeframe, session=request.session, specs=specs)

    async def run(
        self, plan: CalculationPlan, *, job_id: str | None = None, owner: str | None = None
    ) -> Sequence[OutputState]:
        """Compute (or reuse) every spec of ``plan`` over the whole series; announce each."""
        states = await self.outputs.current(plan.ref, plan.timeframe, plan.session, plan.specs)
        for state in states:
            await self.publisher.publish(state.event(job_id=job_id, owner=owner))
        return states
