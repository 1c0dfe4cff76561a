"""The ``ind:`` joiner: TA-Lib indicators over a chart slice's own buckets.

It plugs into the slice join seam, :mod:`pipelines.charts.joins`.

Each output becomes a column ``ind:<spec>:<output>``, computed over the buckets the chart draws
plus a warm-up of earlier buckets of the same width (``3 × lookback + 10``, at most
:data:`WARMUP_LIMIT`), so the first drawn bars carry values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.charts.joins import Column, JoinContext
from pipelines.indicators.talib_series import (
    COLUMN_PREFIX,
    IndicatorSpec,
    InvalidIndicator,
    compute,
    parse_indicator,
)
from schemas.bars import ChartDataRequest
from schemas.values import BARS_FROM, BARS_UNTIL, SUPPORTED_TIMES, BarWidth
from warehouse.clickhouse.slice_search import Slice

WARMUP_LIMIT: Final = 50_000
"""Most earlier buckets read to warm indicators up."""


class IndicatorJoin(msgspec.Struct, frozen=True, kw_only=True):
    """The indicators one chart request asks for, parsed (each spec once)."""

    specs: tuple[IndicatorSpec, ...]

    async def columns(self, bars: Slice, context: JoinContext) -> Sequence[Column]:
        """A column per output of every spec, computed over earlier buckets too."""
        table = bars.table
        warmup = min(max(spec.warmup for spec in self.specs), WARMUP_LIMIT)
        width_ms = BarWidth.of(bars.bucket).approx_ms
        _check_reach(self.specs, bars.bucket, width_ms)
        reach = max(dt.timedelta(milliseconds=width_ms * warmup * 3), dt.timedelta(days=10))
        before = context.query.start - dt.timedelta(milliseconds=1)
        # A long warm-up of wide buckets may reach before any bar can be (or before year 1).
        start = before - reach if before - BARS_FROM > reach else BARS_FROM
        earlier = await context.slice(
            msgspec.structs.replace(
                context.query,
                timeframe=bars.bucket,
                start=start,
                end=before,
                max_points=max(warmup, 2),
                widths=(bars.bucket,),
            )
        )
        history = earlier.table
        if table.num_rows:
            first = table.column("ts")[0]
            history = history.filter(pc.less(history.column("ts"), first))
        combined = pa.concat_tables([history.select(table.column_names).cast(table.schema), table])
        skip = history.num_rows
        outputs = await context.work.run(_compute_all, self.specs, combined)
        columns: list[Column] = []
        for spec, computed in zip(self.specs, outputs, strict=True):
            for output, values in computed.items():
                field = pa.field(
                    spec.column(output),
                    pa.float64(),
                    metadata={
                        "k2q.indicator": spec.text,
                        "k2q.output": output,
                        "k2q.overlay": "true" if spec.overlay else "false",
                        "k2q.display_name": spec.display_name,
                    },
                )
                columns.append((field, pa.array(values[skip:], pa.float64(), from_pandas=True)))
        return columns


def _check_reach(specs: Sequence[IndicatorSpec], bucket: str, width_ms: int) -> None:
    """Refuse an indicator whose first value needs more buckets than the supported times hold.

    Raises:
        InvalidIndicator: e.g. ``sma(10000)`` over ``1w`` buckets (9,999 weeks is 190 years).
    """
    capacity = (BARS_UNTIL - BARS_FROM) // dt.timedelta(milliseconds=width_ms)
    for spec in specs:
        if spec.lookback >= capacity:
            raise InvalidIndicator(
                f"{spec.text} needs {spec.lookback:,} earlier {bucket} bars before its first value,"
                f" more than the {capacity:,} that {SUPPORTED_TIMES} holds:"
                " ask for a shorter period or a narrower timeframe"
            )


def _compute_all(specs: Sequence[IndicatorSpec], bars: pa.Table) -> list[dict[str, Any]]:
    return [compute(spec, bars) for spec in specs]


class IndicatorJoiner:
    """Joins ``ind:`` columns: the request's ``indicators``."""

    prefix: Final = COLUMN_PREFIX

    def plan(self, request: ChartDataRequest) -> IndicatorJoin | None:
        """The indicators ``request`` asks for, or None.

        Raises:
            InvalidIndicator: a spec is malformed.
        """
        if not request.indicators:
            return None
        specs = tuple({spec.text: spec for spec in map(parse_indicator, request.indicators)}.values())
        return IndicatorJoin(specs=specs)
