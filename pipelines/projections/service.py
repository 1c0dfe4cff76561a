"""Projections: requests checked, computed as jobs, stored, listed with their scores, evaluated.

A projection is scored once real bars cover its horizon, when it is next listed or drawn: its
stored median and band against the real closes of its buckets (a fetch, an import or the live
stream may have brought them). An evaluation projects each method from past cut points of the
series and scores each at once, so a method's calibration on this series is seen now.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from dataclasses import dataclass

import msgspec
import numpy as np
from numpy.typing import NDArray

from pipelines.charts.slices import ChartSlices
from pipelines.errors import NotYours
from pipelines.indicators.specs import BucketSeries
from pipelines.projections.calendar import future_buckets
from pipelines.projections.methods import (
    Forecast,
    InvalidProjection,
    level_of,
    needs,
    project,
    resolve,
)
from pipelines.projections.scoring import score
from schemas.bars import ChartDataRequest, SeriesKey
from schemas.projections import (
    EvaluationRequest,
    MethodScore,
    Projection,
    ProjectionMethod,
    ProjectionRequest,
    ProjectionScore,
)
from schemas.values import Session, Timeframe
from warehouse.catalog.projections import ProjectionRepository
from warehouse.clickhouse.bars import BarStore
from warehouse.clickhouse.projection_values import ProjectionValueStore, StoredPath


@dataclass(frozen=True, slots=True)
class PreparedProjection:
    """A projection request checked: its id, series, timeframe and resolved parameters."""

    projection_id: str
    ref: SeriesKey
    timeframe: str
    params: dict[str, float]
    level: float


def _ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


class Projections:
    """Projections over stored series."""

    def __init__(
        self,
        charts: ChartSlices,
        bars: BarStore,
        repository: ProjectionRepository,
        values: ProjectionValueStore,
    ) -> None:
        self.charts = charts
        self.bars = bars
        self.repository = repository
        self.values = values

    async def _series(
        self,
        symbol: str | None,
        table: str | None,
        timeframe: Timeframe | None,
        adjusted: bool | None,
        session: Session,
    ) -> tuple[SeriesKey, str]:
        plan = await self.charts.plan(
            ChartDataRequest(
                symbol=symbol, table=table, timeframe=timeframe, adjusted=adjusted, session=session
            )
        )
        return plan.ref, plan.timeframe

    async def prepare(self, request: ProjectionRequest) -> PreparedProjection:
        """Check a projection request before it is queued.

        Raises:
            InvalidProjection: an unknown parameter or a value out of range.
            NotFound: no bars for the symbol or dataset.
        """
        params = resolve(request.method, request.params)
        ref, timeframe = await self._series(
            request.symbol, request.table, request.timeframe, request.adjusted, request.session
        )
        return PreparedProjection(
            projection_id=uuid.uuid4().hex,
            ref=ref,
            timeframe=timeframe,
            params=params,
            level=level_of(request.method, params),
        )

    async def record(
        self, prepared: PreparedProjection, request: ProjectionRequest, owner: str, job_id: str | None
    ) -> None:
        """Record a prepared projection as queued by ``job_id`` (None: computed by the caller)."""
        await self.repository.create(
            projection_id=prepared.projection_id,
            ref=prepared.ref,
            timeframe=prepared.timeframe,
            session=request.session,
            method=request.method,
            params=prepared.params,
            level=prepared.level,
            horizon=request.horizon,
            owner=owner,
            job_id=job_id,
        )

    async def _closes(self, projection: Projection) -> BucketSeries:
        ref = SeriesKey.of(symbol=projection.symbol, series=projection.series, adjusted=projection.adjusted)
        return BucketSeries.of(await self.bars.bucket_series(ref, projection.timeframe, projection.session))

    async def compute(self, projection_id: str) -> str:
        """Compute and store a recorded projection (the job). Returns a line for people.

        Raises:
            InvalidProjection: the series is shorter than the method's window.
        """
        projection = await self.repository.get(projection_id)
        await self.repository.set_status(projection_id, "running")
        try:
            series = await self._closes(projection)
            if len(series) == 0:
                raise InvalidProjection(f"{projection.symbol} has no {projection.timeframe} bars")
            forecast = await asyncio.to_thread(
                project, projection.method, series.close, projection.horizon, projection.params
            )
            last_ts = int(series.ts[-1])
            ts = future_buckets(last_ts, projection.timeframe, projection.horizon)
            source = json.dumps({"method": projection.method, "params": projection.params}, sort_keys=True)
            await self.values.write(
                StoredPath(projection_id, ts, forecast.median, forecast.lower, forecast.upper),
                symbol=projection.symbol,
                source=source,
                created_at=projection.created_at,
                last_bar=last_ts,
            )
            last_bar = dt.datetime.fromtimestamp(last_ts / 1000, tz=dt.UTC)
            await self.repository.finish(
                projection_id, last_bar=last_bar, first_ts=int(ts[0]), last_ts=int(ts[-1])
            )
        except Exception as exc:
            await self.repository.set_status(projection_id, "failed", str(exc) or type(exc).__name__)
            raise
        return (
            f"{projection.method} projection of {projection.symbol} {projection.timeframe}:"
            f" {projection.horizon} bars from {last_bar:%Y-%m-%d %H:%M} UTC"
        )

    async def listed(self, symbol: str, timeframe: str | None) -> list[Projection]:
        """A series' projections, newest first, each scored once real bars cover its horizon."""
        projections = await self.repository.for_series(symbol, timeframe)
        return [await self._scored(projection) for projection in projections]

    async def get(self, projection_id: str) -> Projection:
        """One projection, scored when it can be.

        Raises:
            NotFound: no such projection.
        """
        return await self._scored(await self.repository.get(projection_id))

    async def _scored(self, projection: Projection) -> Projection:
        if projection.status != "complete" or projection.score is not None or projection.last_ts is None:
            return projection
        ref = SeriesKey.of(symbol=projection.symbol, series=projection.series, adjusted=projection.adjusted)
        start = dt.datetime.fromtimestamp((projection.first_ts or 0) / 1000, tz=dt.UTC)
        end = dt.datetime.fromtimestamp(projection.last_ts / 1000, tz=dt.UTC)
        real = BucketSeries.of(
            await self.bars.bucket_series(ref, projection.timeframe, projection.session, start, end)
        )
        if len(real) == 0 or int(real.ts[-1]) < projection.last_ts:
            return projection  # the horizon is not covered yet
        stored = (await self.values.read([projection.id])).get(projection.id)
        if stored is None or projection.last_bar is None:
            return projection
        at = np.searchsorted(stored.ts, real.ts)
        matched = (at < stored.ts.size) & (stored.ts[np.minimum(at, stored.ts.size - 1)] == real.ts)
        steps = at[matched]
        if steps.size == 0:
            return projection
        forecast = Forecast(median=stored.median[steps], lower=stored.lower[steps], upper=stored.upper[steps])
        before = BucketSeries.of(
            await self.bars.bucket_series(
                ref, projection.timeframe, projection.session, projection.last_bar, projection.last_bar
            )
        )
        last_close = float(before.close[-1]) if len(before) else float(forecast.median[0])
        projection.score = score(forecast, last_close, real.close[matched], projection.level)
        await self.repository.set_score(projection.id, projection.score)
        return projection

    async def delete(self, projection_id: str, editor: str, *, admin: bool) -> None:
        """Delete a projection and its values.

        Raises:
            NotFound: no such projection.
            NotYours: ``editor`` is neither its owner nor an admin.
        """
        projection = await self.repository.get(projection_id)
        if not admin and projection.owner != editor:
            raise NotYours(
                f"projection {projection_id} is {projection.owner}'s: only they or an admin may delete it"
            )
        await self.values.delete(projection_id)
        await self.repository.delete(projection_id)

    async def prepare_evaluation(self, request: EvaluationRequest) -> tuple[SeriesKey, str]:
        """Check an evaluation request before it is queued.

        Raises:
            InvalidProjection: parameters of a method that is not evaluated, or bad values.
            NotFound: no bars for the symbol or dataset.
        """
        stray = sorted(set(request.params) - set(request.methods) - {"naive"})  # naive: always the baseline
        if stray:
            raise InvalidProjection(f"parameters are given for {', '.join(stray)}, which is not evaluated")
        for method in {"naive", *request.methods}:
            resolve(method, request.params.get(method, {}))
        return await self._series(
            request.symbol, request.table, request.timeframe, request.adjusted, request.session
        )

    async def evaluate(self, evaluation_id: str) -> str:
        """Run a recorded evaluation (the job). Returns a line for people."""
        _, raw = await self.repository.evaluation(evaluation_id)
        request = msgspec.convert(raw, EvaluationRequest)
        try:
            ref, timeframe = await self.prepare_evaluation(request)
            series = BucketSeries.of(await self.bars.bucket_series(ref, timeframe, request.session))
            rows = await asyncio.to_thread(evaluate_methods, series.close, request)
        except Exception as exc:
            await self.repository.finish_evaluation(
                evaluation_id, "failed", [], str(exc) or type(exc).__name__
            )
            raise
        await self.repository.finish_evaluation(evaluation_id, "complete", rows)
        best = rows[0].method if rows else "none"
        return (
            f"{len(request.methods)} methods over {request.cuts} cut points of {ref.symbol} {timeframe}:"
            f" best {best}"
        )


def cut_points(bars: int, window: int, horizon: int, cuts: int) -> list[int]:
    """Where the evaluation projects from: up to ``cuts`` bar counts, evenly spread.

    Each has a full window before it and a full horizon after it.

    Raises:
        InvalidProjection: the series is too short for one.
    """
    first, last = window, bars - horizon
    if last < first:
        raise InvalidProjection(
            f"an evaluation needs {window + horizon:,} bars (the window and the horizon);"
            f" the series has {bars:,}"
        )
    return sorted({round(c) for c in np.linspace(first, last, cuts)})


def evaluate_methods(closes: NDArray[np.float64], request: EvaluationRequest) -> list[MethodScore]:
    """Each method projected from the cut points and scored; ranked by MAE, with skill against naive."""
    methods: list[ProjectionMethod] = list(dict.fromkeys(["naive", *request.methods]))
    params = {method: resolve(method, request.params.get(method, {})) for method in methods}
    window = max(needs(method, params[method]) for method in methods)
    cuts = cut_points(closes.size, window, request.horizon, request.cuts)
    rows = []
    for method in methods:
        level = level_of(method, params[method])
        scores = []
        error = None
        for cut in cuts:
            try:
                forecast = project(method, closes[:cut], request.horizon, params[method])
            except Exception as exc:  # a model that does not fit at a cut: counted, and said
                error = f"{type(exc).__name__}: {exc}"[:200]
                continue
            scores.append(score(forecast, float(closes[cut - 1]), closes[cut : cut + request.horizon], level))
        rows.append(_summary(method, level, scores, error))
    naive_mae = rows[0].mae
    for row in rows:
        row.skill = None if row.mae is None or not naive_mae else 1 - row.mae / naive_mae
    asked = [row for row in rows if row.method in request.methods]
    return sorted(asked, key=lambda row: (row.mae is None, row.mae or 0.0))


def _summary(
    method: ProjectionMethod, level: float, scores: list[ProjectionScore], error: str | None
) -> MethodScore:
    if not scores:
        return MethodScore(
            method=method, mae=None, mape_pct=None, inside_pct=None, level=level, direction_hit_pct=None,
            skill=None, cuts_scored=0, error=error,
        )  # fmt: skip
    mapes = [s.mape_pct for s in scores if s.mape_pct is not None]
    return MethodScore(
        method=method,
        mae=float(np.mean([s.mae for s in scores])),
        mape_pct=float(np.mean(mapes)) if mapes else None,
        inside_pct=float(np.mean([s.inside_pct for s in scores])),
        level=level,
        direction_hit_pct=float(np.mean([s.direction_hit for s in scores]) * 100),
        skill=None,
        cuts_scored=len(scores),
        error=error,
    )
